"""The experiment's command line and its run loop: one fresh system per (delay, rate), then the plots.

Progress goes to stderr; the last line on stdout is the results folder, so scripts can do
`dir=$(scripts/lag-experiment ... | tail -1)`. Exit status: 0 when every run completed and passed
its checks (nothing lost, read models equal their rebuilds), 1 when a check failed or a run broke,
2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROJECTORS = ["orders", "search", "status", "history"]


def log(message: str) -> None:
    print(f"lag-experiment: {message}", file=sys.stderr, flush=True)


def ensure_matplotlib() -> None:
    """Installs matplotlib quietly when missing (bounded), so the plots are never skipped."""
    try:
        importlib.import_module("matplotlib")
        return
    except ImportError:
        pass
    log("installing matplotlib (pip install --quiet matplotlib)")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"], check=True, timeout=900,
                   stdout=subprocess.DEVNULL)
    importlib.invalidate_caches()


def _floats(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative numbers, got {text!r}")
    return values


def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in PROJECTORS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"projectors are among {','.join(PROJECTORS)}; got {text!r}")
    return list(dict.fromkeys(names))


def _stores(text: str) -> list[str]:
    from . import stores
    try:
        return stores.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lag-experiment", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rates", type=_floats, default=[1000, 5000, 10000, 20000, 50000],
                   help="commands/s, comma-separated: one run per rate, fresh system each run")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of timed load per run")
    p.add_argument("--projectors", type=_names, default=PROJECTORS, help="projectors to run, comma-separated")
    p.add_argument("--stores", type=_stores, default=[],
                   help="real read-model stores, e.g. postgres,redis: each projector uses the first it supports "
                        "(orders, search, history: postgres; status: redis), on throwaway servers started per run; "
                        "default: every model embedded")
    p.add_argument("--size", type=int, default=100, help="bytes of each order description")
    p.add_argument("--arrivals", choices=["constant", "poisson"], default="constant")
    p.add_argument("--connections", type=int, default=4, help="prism load connections")
    p.add_argument("--users", type=int, default=1000, help="users registered before the timed phase")
    p.add_argument("--visibility-sample", type=int, default=100, help="prism load probes visibility every K commands")
    p.add_argument("--bin-dir", type=Path, default=Path(os.environ.get("PRISM_BIN_DIR") or REPO / ".build" / "release"))
    p.add_argument("--procfile", type=Path, default=REPO / "Procfile")
    p.add_argument("--results-dir", type=Path, default=REPO / "results")
    p.add_argument("--mode", choices=["local", "netns"], default="local")
    p.add_argument("--delay-ms", type=float, default=0.0, help="netns: one-way delay per projector link")
    p.add_argument("--delays", type=_floats, default=None, help="netns: sweep of delays (ms), overrides --delay-ms")
    p.add_argument("--jitter-ms", type=float, default=0.0, help="netns: jitter per projector link")
    p.add_argument("--loss-percent", type=float, default=0.0, help="netns: packet loss per projector link")
    p.add_argument("--rate-kbit", type=int, default=None, help="netns: bandwidth limit per projector link")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help="kill:NAME@T[+D], stop:NAME@T+D, restart-writer@T, cut:NAME@T+D (netns); repeatable")
    p.add_argument("--keep-data", action="store_true", help="keep each run's data directories (deleted by default)")
    p.add_argument("--no-rebuild-check", action="store_true", help="skip the rebuild/digest comparison")
    p.add_argument("--secure", action="store_true",
                   help="CURVE on: generate a key directory for the experiment (prism keys generate) and start "
                        "every process and client with it")
    args = p.parse_args(argv)
    netns_only = {"--delay-ms": args.delay_ms, "--jitter-ms": args.jitter_ms, "--loss-percent": args.loss_percent,
                  "--rate-kbit": args.rate_kbit, "--delays": args.delays}
    if args.mode == "local" and any(netns_only.values()):
        p.error(f"{', '.join(k for k, v in netns_only.items() if v)} need --mode netns")
    if args.stores and args.mode != "local":
        p.error("--stores needs --mode local (the servers listen on the root namespace's loopback)")
    if args.duration <= 0 or any(r <= 0 for r in args.rates):
        p.error("--duration and --rates must be positive")
    from . import faults
    try:
        args.faults = [faults.parse(s, args.projectors, args.mode) for s in args.fault]
    except ValueError as error:
        p.error(str(error))
    args.bin_dir = args.bin_dir.resolve()
    for binary in ["write-node", "prism", *(f"{n}-projector" for n in args.projectors)]:
        if not (args.bin_dir / binary).exists():
            p.error(f"{args.bin_dir / binary} does not exist: build (swift build -c release) or pass --bin-dir")
    return args


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ensure_matplotlib()
    from . import plots, report, system

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = (args.results_dir / stamp).resolve()
    n = 1
    while results.exists():
        n += 1
        results = (args.results_dir / f"{stamp}-{n}").resolve()
    results.mkdir(parents=True)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)

    delays = args.delays if args.delays is not None else [args.delay_ms]
    summary = {
        "started": dt.datetime.now().isoformat(timespec="seconds"), "mode": args.mode,
        "command": ["scripts/lag-experiment", *(sys.argv[1:] if argv is None else argv)],
        "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "binDir": str(args.bin_dir)},
        "options": {"rates": args.rates, "duration": args.duration, "projectors": args.projectors, "size": args.size,
                    "arrivals": args.arrivals, "connections": args.connections, "users": args.users,
                    "faults": args.fault, "delaysMs": delays, "jitterMs": args.jitter_ms,
                    "lossPercent": args.loss_percent, "rateKbit": args.rate_kbit, "stores": args.stores},
        "runs": [], "plots": [],
    }
    args.keys_dir = None
    if args.secure:
        from . import keys
        args.keys_dir = results / "keys"
        keys.generate_system(args.bin_dir / "prism", args.keys_dir)
        summary["options"]["secure"] = True
    ok = True
    try:
        for delay in delays:
            for rate in args.rates:
                run_id = f"r{rate:g}" + (f"-d{delay:g}ms" if args.mode == "netns" else "")
                log(f"run {run_id}: {rate:g} commands/s for {args.duration:g} s ({args.mode})")
                try:
                    run = run_once(args, rate, delay, run_id, results)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as error:
                    traceback.print_exc()
                    run = {"id": run_id, "rate": rate, "error": f"{type(error).__name__}: {error}"}
                summary["runs"].append(run)
                checked = run.get("checks") or {}
                passed = not run.get("error") and checked["allApplied"] and checked["acknowledged"]["allReached"] and (
                    args.no_rebuild_check or checked["digestsEqual"])
                ok = ok and passed
                log(f"run {run_id}: " + ("checks passed" if passed else f"FAILED {run.get('error') or run['checks']}"))
                report.write_summary(results / "summary.json", summary)
    except (KeyboardInterrupt, SystemExit) as stop:
        ok = False
        summary["interrupted"] = repr(stop)
        log("interrupted: stopping every process")
    finally:
        system.cleanup_all()
        with contextlib.suppress(Exception):
            summary["plots"] += _sweep_plots(summary["runs"], results, args)
        summary["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        report.write_summary(results / "summary.json", summary)
        print(results, flush=True)
    return 0 if ok else 1


def _sweep_plots(runs: list[dict], results: Path, args) -> list[str]:
    from . import plots
    good = [r for r in runs if not r.get("error")]
    out = []
    if len({r["rate"] for r in good}) > 1 or len(good) == 1:
        for delay in sorted({r["network"]["delayMs"] for r in good}):
            group = [r for r in good if r["network"]["delayMs"] == delay]
            name = "lag-vs-rate.png" if len({r["network"]["delayMs"] for r in good}) == 1 else f"lag-vs-rate-d{delay:g}ms.png"
            out.append(plots.lag_vs_rate(group, results / name).name)
    if len({r["network"]["delayMs"] for r in good}) > 1:
        out.append(plots.lag_vs_delay(good, results / "lag-vs-delay.png").name)
    return out


def run_once(args, rate: float, delay: float, run_id: str, results: Path) -> dict:
    """One fresh system: start, sample, load, faults, checks, stop; returns the run's summary entry."""
    from . import checks, faults as faultmod, plots, report, stores, wire
    from .loadgen import Load, command_errors
    from .sampler import Sampler
    from .system import System, Topology, local_launch

    run_dir = results / run_id
    run_dir.mkdir()
    network = None
    exit_stack = contextlib.ExitStack()
    system = sampler = runner = load = None
    try:
        if args.mode == "netns":
            from . import netmode
            from .netns import Network
            network = exit_stack.enter_context(Network(hosts=netmode.hosts_for(args.projectors)))
            topo = netmode.layout(network, args.projectors, delay, args.jitter_ms, args.loss_percent, args.rate_kbit)
            exit_stack.enter_context(wire.in_namespace(network.namespace("client")))
            launch = lambda host, argv, **kw: network.popen(host, argv, **kw)  # noqa: E731
        servers = None
        if args.stores:
            (run_dir / "logs").mkdir(parents=True, exist_ok=True)
            servers = stores.Servers(stores.assign(args.projectors, args.stores), run_dir / "logs")
            exit_stack.callback(servers.remove)  # after the system stops (callbacks run last first)
            servers.start()
        if network is None:
            # Ports picked once the servers hold theirs: a free port picked before might be one of them.
            topo, launch = Topology.local(args.projectors), local_launch
        if args.keys_dir:
            from .keys import ClientKeys
            # The experiment's own queries (health, stats, digest) need only the reader role.
            wire.secure(ClientKeys.load(args.keys_dir, "reader"), topo.server_keys())
        system = System(args.procfile, args.bin_dir, run_dir, topo, args.projectors, launch, keys_dir=args.keys_dir,
                        servers=servers)
        exit_stack.callback(system.stop)
        system.start()
        faults = [faultmod.Fault(f.spec, f.kind, f.target, f.at, f.duration) for f in args.faults]
        sampler = Sampler(topo.command, topo.query, system.pids)
        load = Load(args.bin_dir, topo.command, topo.query, rate, args.duration, args.arrivals, args.connections,
                    args.users, args.size, run_dir / "load.log", host=topo.hosts.get("load"), launch=launch,
                    visibility_sample=args.visibility_sample, keys_dir=args.keys_dir)
        sampler.start()
        t0 = load.start()
        runner = faultmod.FaultRunner(faults, system, t0, network)
        runner.start()
        load_report = load.wait(margin_s=60 + sum(f.duration for f in faults))
        load_end = time.monotonic()
        last_fault_end = max([t0 + f.at + f.duration for f in faults], default=0)
        runner.join(max(0.0, last_fault_end - time.monotonic()) + 45)
        if runner.is_alive():
            runner.cancel()
            runner.join(30)
        log(f"run {run_id}: load done ({load_report.get('achievedRate')} commands/s achieved); checking")
        check = checks.run(system, rebuild=not args.no_rebuild_check, on_applied=lambda: sampler.stop(final_ticks=2))
        sampler.stop()
        if sampler.error:
            raise RuntimeError(f"sampler failed: {sampler.error!r}")
        final = {p: wire.result(topo.query[p], "stats", timeout_ms=2000) for p in args.projectors}
        writer_stats = wire.result(topo.command, "stats", timeout_ms=2000)
        starts = {name: proc.starts for name, proc in system.processes.items()}
        exit_codes = system.stop()
    finally:
        if load is not None:
            load.stop()
        if runner is not None:
            runner.cancel()
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        exit_stack.close()

    rows = sampler.rows
    report.write_csv(results / f"timeseries-{run_id}.csv", rows, t0)
    processes = report.process_summary(rows, t0, load_end)
    fault_entries = [faultmod.analyze(f, rows, t0, args.projectors) for f in faults]
    errors = command_errors(load_report)
    check["loadCommandErrors"] = errors
    check["acknowledged"] = checks.acknowledged(load_report, check["head"], check["projectors"])
    check["zeroEventsLost"] = bool(check["allApplied"] and check["acknowledged"]["allReached"] and errors == 0)
    if errors and any(f.kind == "restart-writer" for f in faults):
        check["notes"].append("command errors while the write node restarted are commands never acknowledged "
                              "(timeouts, and rejections of follow-ups to them), not lost events: see allApplied "
                              "and digestsEqual")
    run = {
        "id": run_id, "rate": rate, "duration": args.duration,
        "network": {"mode": args.mode, "delayMs": delay, "jitterMs": args.jitter_ms, "lossPercent": args.loss_percent,
                    "rateKbit": args.rate_kbit},
        "load": load_report, "loadEndedAt": round(load_end - t0, 3),
        "projectors": report.lag_summary(final, processes, starts, {p: system.store(p) for p in args.projectors}),
        "writeNode": processes.get("write-node", {}), "writeNodeStages": report.write_stages(writer_stats),
        "faults": fault_entries, "checks": check, "exitCodes": exit_codes,
        "timeseries": f"timeseries-{run_id}.csv", "plots": [],
    }
    csv_rows = report.read_csv(results / run["timeseries"])
    title = f"{run_id}: {rate:g} commands/s" + (f", {delay:g} ms delay, {args.loss_percent:g}% loss"
                                                if args.mode == "netns" else "")
    run["plots"].append(plots.lag_over_time(csv_rows, fault_entries, title, results / f"lag-over-time-{run_id}.png",
                                            load_end=load_end - t0).name)
    run["plots"].append(plots.latency_cdf(run, results / f"latency-cdf-{run_id}.png").name)
    if not args.keep_data:
        shutil.rmtree(run_dir / "data", ignore_errors=True)
    log(f"run {run_id}: lag stages since each process's start, p50 / p99 ms (the projector stages per live event, "
        "sync wait per request, sync per group, publish per event; network includes publish)\n"
        + report.stage_table(run))
    return run
