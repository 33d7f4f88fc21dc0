"""The experiment's PNGs (matplotlib, Agg backend: no display needed).

lag-vs-rate.png        p50/p99/p999 sync→commit lag per projector against the offered rate (the sweep)
lag-over-time-*.png    interval p99/max lag and events behind per projector, faults as labelled lines
latency-cdf-*.png      append latency and each projector's lag distribution from their percentile points
lag-vs-delay.png       p50/p99 lag per projector against the injected one-way delay (netns sweep)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"orders": "tab:blue", "search": "tab:orange", "status": "tab:green", "history": "tab:purple",
          "write-node": "tab:gray"}
PERCENTILE_STYLE = {"p50": ":", "p99": "-", "p999": "--"}
DPI = 80


def _color(name: str) -> str:
    return COLORS.get(name, "black")


def _ms(us):
    return None if us is None else us / 1000.0


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


GAP_S = 0.5


def _broken(values: list, rows: list[dict] | None = None, scale: float = 1.0) -> list[float]:
    """Values with a NaN inserted wherever answered samples are more than GAP_S apart (a killed or
    stopped projector): a visible gap instead of a line interpolated across the outage."""
    nan = float("nan")
    out = []
    times = [r["time_s"] for r in rows] if rows is not None else values
    for i, v in enumerate(values):
        if i and times[i] - times[i - 1] > GAP_S:
            out.append(nan)
        out.append(nan if v is None else v / scale)
    return out


def lag_vs_rate(runs: list[dict], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    runs = sorted(runs, key=lambda r: r["rate"])
    names = sorted({n for r in runs for n in r["projectors"]})
    for name in names:
        for pct, style in PERCENTILE_STYLE.items():
            pts = [(r["rate"], _ms((r["projectors"][name].get("lagUs") or {}).get(pct)))
                   for r in runs if name in r["projectors"]]
            pts = [(x, y) for x, y in pts if y is not None]
            if pts:
                ax.plot(*zip(*pts), style, marker="o", color=_color(name), label=f"{name} {pct}")
    append = [(r["rate"], _ms((r["load"].get("appendLatencyUs") or {}).get("p99")), r["load"].get("achievedRate"))
              for r in runs]
    append = [(x, y, a) for x, y, a in append if y is not None]
    if append:
        ax.plot([x for x, _, _ in append], [y for _, y, _ in append], "-", marker="x", color="black", alpha=0.5,
                label="append latency p99")
        for x, y, achieved in append:  # where the system saturates, the offered rate is not what it got
            if achieved is not None:
                ax.annotate(f"{achieved:.0f}/s", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (commands/s; labels: achieved)")
    ax.set_ylabel("sync→commit lag (ms)")
    ax.set_title("Projector lag vs load")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def lag_over_time(rows: list[dict], faults: list[dict], title: str, path: Path, load_end: float | None = None) -> Path:
    """`rows` have `time_s` relative to the load start (from the CSV); faults are summary entries."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    names = [n for n in dict.fromkeys(r["process"] for r in rows) if n != "write-node"]
    for name in names:
        mine = [r for r in rows if r["process"] == name and r["behind"] is not None]
        t = _broken([r["time_s"] for r in mine])
        top.plot(t, _broken([r["lag_p99_us"] for r in mine], mine, 1000), "-", color=_color(name), lw=1, marker=".",
                 ms=3, label=f"{name} p99")
        top.plot(t, _broken([r["lag_max_us"] for r in mine], mine, 1000), ":", color=_color(name), lw=0.8,
                 label=f"{name} max")
        bottom.plot(t, _broken([r["behind"] for r in mine], mine), "-", color=_color(name), lw=1, marker=".", ms=3,
                    label=name)
    top.set_yscale("log")
    top.set_ylabel("interval lag (ms)")
    top.set_title(title)
    bottom.set_ylabel("events behind head")
    bottom.set_xlabel("time since load start (s)")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
        ax.axvline(0, color="black", lw=0.6)
        if load_end is not None:
            ax.axvline(load_end, color="black", lw=0.6, ls="--")
        for f in faults:
            if f.get("startedAt") is None:
                continue
            ax.axvline(f["startedAt"], color="red", lw=1)
            if f.get("endedAt") is not None and f["endedAt"] - f["startedAt"] > 0.05:
                ax.axvline(f["endedAt"], color="red", lw=1, ls="--")
    for f in faults:
        if f.get("startedAt") is not None:
            bottom.text(f["startedAt"], 0.97, " " + f["spec"], color="red", fontsize=8, va="top", ha="left",
                        rotation=90, transform=bottom.get_xaxis_transform())
    top.legend(fontsize=7, ncol=4, loc="upper left")
    bottom.legend(fontsize=7, ncol=4, loc="upper left")
    return _save(fig, path)


def latency_cdf(run: dict, path: Path) -> Path:
    """Percentile points on a logit axis, so the tail (p99, p99.9) gets as much room as the median."""
    fig, ax = plt.subplots(figsize=(8, 5))
    points = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)]

    def curve(hist: dict | None, label: str, color: str, style: str = "-"):
        pts = [(_ms(hist.get(k)), q) for k, q in points if hist and hist.get(k)]
        if pts:
            ax.plot(*zip(*pts), style, marker="o", color=color, label=label)

    curve(run["load"].get("appendLatencyUs"), "append latency (prism load)", "black")
    for name, p in run["projectors"].items():
        curve(p.get("lagUs"), f"{name} sync→commit lag", _color(name))
        curve((run["load"].get("visibilityUs") or {}).get(name), f"{name} write→visible (probe)", _color(name), "--")
    ax.set_xscale("log")
    ax.set_yscale("logit")
    ax.set_xlabel("ms")
    ax.set_ylabel("percentile")
    ax.set_yticks([q for _, q in points], [k for k, _ in points])
    ax.minorticks_off()
    ax.set_title(f"Latency distributions at {run['rate']:g} commands/s ({run['id']})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def lag_vs_delay(runs: list[dict], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    runs = sorted(runs, key=lambda r: r["network"]["delayMs"])
    names = sorted({n for r in runs for n in r["projectors"]})
    for name in names:
        for pct in ("p50", "p99"):
            pts = [(r["network"]["delayMs"], _ms((r["projectors"][name].get("lagUs") or {}).get(pct)))
                   for r in runs if name in r["projectors"]]
            pts = [(x, y) for x, y in pts if y is not None]
            if pts:
                ax.plot(*zip(*pts), PERCENTILE_STYLE[pct], marker="o", color=_color(name), label=f"{name} {pct}")
    delays = [r["network"]["delayMs"] for r in runs]
    if delays:
        ax.plot(delays, delays, color="gray", lw=0.8, label="injected delay")
    ax.set_xlabel("injected one-way delay (ms)")
    ax.set_ylabel("sync→commit lag (ms)")
    ax.set_title("Projector lag vs network delay")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)
