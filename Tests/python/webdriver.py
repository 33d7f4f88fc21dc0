"""Headless Chromium driven through chromedriver's W3C WebDriver HTTP API, with plain urllib.

Only what the dashboard test needs: open a URL, run a script in the page (to read the DOM), find
elements and read their attributes, take a screenshot. Debian's `chromium` and `chromium-driver`
(scripts/setup installs them); as root Chromium needs `--no-sandbox`.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_DEADLINE_S = 20.0
# W3C's key for an element reference in a reply.
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None when chromium and chromedriver are installed."""
    missing = [name for name in ("chromium", "chromedriver") if not shutil.which(name)]
    if missing:
        return f"{' and '.join(missing)} not installed (scripts/setup installs Debian's chromium and chromium-driver)"
    return None


class WebDriverError(Exception):
    pass


class Browser:
    """One chromedriver process and one headless Chromium session; `close()` ends both."""

    def __init__(self, log_path: Path, width: int = 1440, height: int = 1100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(log_path, "wb")
        self.driver = subprocess.Popen([shutil.which("chromedriver"), f"--port={port}"], stdout=self.log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.session = None
        try:
            self._wait_ready()
            args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                    "--hide-scrollbars"]
            if os.geteuid() == 0:
                args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
            reply = self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": shutil.which("chromium"), "args": args}}}})
            self.session = reply["sessionId"]
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.driver.poll() is not None:
                raise WebDriverError(f"chromedriver exited with {self.driver.returncode}")
            try:
                if self._call("GET", "/status").get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            time.sleep(0.1)
        raise WebDriverError(f"chromedriver not ready within {READY_DEADLINE_S} s")

    def _call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            value = json.loads(error.read() or b"{}").get("value", {})
            raise WebDriverError(f"{method} {path}: {value.get('error')}: {value.get('message')}") from None

    def _session_call(self, method: str, path: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def open(self, url: str) -> None:
        self._session_call("POST", "/url", {"url": url})

    def script(self, source: str, *args):
        """Runs `source` (a function body; `arguments` holds `args`) in the page and returns its value."""
        return self._session_call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def find(self, css: str) -> str:
        """The reference of the first element matching `css`."""
        return self._session_call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT_KEY]

    def attribute(self, element: str, name: str) -> str | None:
        return self._session_call("GET", f"/element/{element}/attribute/{name}")

    def text(self, element: str) -> str:
        return self._session_call("GET", f"/element/{element}/text")

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._session_call("GET", "/screenshot")))

    def close(self) -> None:
        if self.session:
            try:
                self._session_call("DELETE", "")
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()
        self.log.close()
