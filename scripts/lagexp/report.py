"""Turns one run's raw material (samples, load report, final stats, faults, checks) into the CSV and
the run's entry of summary.json — the files someone reads after the experiment."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

CSV_COLUMNS = ["time_s", "process", "applied", "head", "behind", "events", "lag_p50_us", "lag_p99_us", "lag_max_us",
               "cpu_pct", "rss_kb", "answered"]


def write_csv(path: Path, rows: list[dict], t0: float) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            w.writerow([f"{r['t'] - t0:.3f}", r["process"], _v(r["applied"]), _v(r["head"]), _v(r["behind"]),
                        _v(r["count"]), _v(r["p50"]), _v(r["p99"]), _v(r["max"]), _v(r["cpu"]), _v(r["rss"]),
                        int(bool(r["answered"]))])


def read_csv(path: Path) -> list[dict]:
    """The CSV back as rows with numbers (None for empty cells), for plotting runs written earlier."""
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            rows.append({k: (r[k] if k == "process" else (float(r[k]) if r[k] != "" else None)) for k in r})
    return rows


def _v(x):
    return "" if x is None else x


def process_summary(rows: list[dict], t0: float, load_end: float | None) -> dict:
    """Per process: samples, CPU (mean/max over the load), peak RSS, and the worst interval lag."""
    out: dict = {}
    for name in sorted({r["process"] for r in rows}):
        mine = [r for r in rows if r["process"] == name]
        during = [r for r in mine if t0 <= r["t"] <= (load_end or float("inf"))]
        cpus = [r["cpu"] for r in during if r["cpu"] is not None]
        rss = [r["rss"] for r in mine if r["rss"] is not None]
        entry = {
            "samples": len(mine), "answered": sum(1 for r in mine if r["answered"]),
            "cpuPercentMean": round(statistics.fmean(cpus), 1) if cpus else None,
            "cpuPercentMax": max(cpus) if cpus else None,
            "rssKbMax": max(rss) if rss else None,
        }
        if name != "write-node":
            lags = [r["max"] for r in mine if r["max"] is not None]
            behind = [r["behind"] for r in mine if r["behind"] is not None]
            p99s = [r["p99"] for r in during if r["p99"] is not None]
            entry.update(maxIntervalLagUs=max(lags) if lags else None, maxBehind=max(behind) if behind else None,
                         medianIntervalP99Us=statistics.median(p99s) if p99s else None)
        out[name] = entry
    return out


# `beforePoll` is part of `network` (the projector was busy when the message could have been read).
LAG_STAGES = ["network", "beforePoll", "queue", "apply", "commit", "total"]
WRITE_STAGES = {"syncWait": "syncWaitUs", "sync": "syncUs", "publish": "publishUs"}


def _percentiles(summary: dict | None) -> dict | None:
    """p50/p99/mean of a `stats` histogram summary, or None when it is missing or empty."""
    if not summary or not summary.get("count"):
        return None
    return {k: summary.get(k) for k in ("p50", "p99", "mean")}


def lag_stages(stats: dict | None) -> dict | None:
    """The projector's lag breakdown (`lagStagesUs`) as p50/p99/mean per stage, or None."""
    stages = (stats or {}).get("lagStagesUs")
    return {stage: _percentiles(stages.get(stage)) for stage in LAG_STAGES} if stages else None


def write_stages(stats: dict | None) -> dict | None:
    """The write node's side of an event's way (`syncWaitUs`, `syncUs`, `publishUs`) as p50/p99/mean, or None."""
    if not stats:
        return None
    return {stage: _percentiles(stats.get(field)) for stage, field in WRITE_STAGES.items()}


def stage_table(run: dict) -> str:
    """The breakdown of one event's lag per projector, p50 / p99 in ms, as a Markdown table."""
    def cell(figures: dict | None) -> str:
        if not figures:
            return "–"
        return f"{figures['p50'] / 1000:.2f} / {figures['p99'] / 1000:.2f}"

    write = run.get("writeNodeStages") or {}
    head = ["model", "store", "sync wait", "sync", "publish", "network", "of it before poll", "queue", "apply", "commit",
            "total (live)", "lagUs (all)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, entry in run["projectors"].items():
        stages = entry.get("lagStagesUs") or {}
        cells = [cell(write.get(stage)) for stage in WRITE_STAGES]
        cells += [cell(stages.get(stage)) for stage in LAG_STAGES]
        cells.append(cell(_percentiles(entry.get("lagUs"))))
        lines.append(f"| {name} | {entry.get('store', 'embedded')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def lag_summary(final_stats: dict[str, dict | None], processes: dict, restarts: dict[str, int],
                model_stores: dict[str, str]) -> dict:
    """Per projector: its store, the HDR percentiles of every event applied since its (last) start, plus sample figures."""
    out = {}
    for name, stats in final_stats.items():
        entry = {"store": model_stores[name], "lagUs": (stats or {}).get("lagUs"), "lagStagesUs": lag_stages(stats),
                 "eventsApplied": (stats or {}).get("eventsApplied"),
                 "transactions": (stats or {}).get("transactions"), "gapsRepaired": (stats or {}).get("gapsRepaired"),
                 "resubscriptions": (stats or {}).get("resubscriptions"), "starts": restarts.get(name, 1)}
        if restarts.get(name, 1) > 1:
            entry["note"] = "restarted during the run: lagUs covers events applied since the last start"
        entry.update(processes.get(name, {}))
        out[name] = entry
    return out


def write_summary(path: Path, summary: dict) -> None:
    path.write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
