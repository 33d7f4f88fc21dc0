"""The lag experiment's breakdown of one event's lag (scripts/lagexp/report.py): the stages of
the projectors' and the write node's `stats` into summary.json and the printed table."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from lagexp import report  # noqa: E402


def summary(p50: int, p99: int, mean: float) -> dict:
    return {"count": 10, "p50": p50, "p90": p99, "p99": p99, "p999": p99, "max": p99, "mean": mean}


STATS = {
    "lagUs": summary(4000, 9000, 4500.0),
    "lagStagesUs": {"network": summary(100, 300, 120.0), "beforePoll": summary(20, 200, 30.0), "queue": summary(500, 2000, 600.0),
                    "apply": summary(1500, 4000, 1700.0), "commit": summary(1000, 3000, 1100.0),
                    "total": summary(3200, 8000, 3520.0)},
}
WRITER = {"head": 10, "syncUs": summary(900, 2500, 1000.0), "syncWaitUs": summary(400, 1800, 500.0),
          "publishUs": summary(50, 700, 80.0)}


def test_the_stages_keep_p50_p99_and_mean():
    stages = report.lag_stages(STATS)
    assert stages["queue"] == {"p50": 500, "p99": 2000, "mean": 600.0}
    assert list(stages) == ["network", "beforePoll", "queue", "apply", "commit", "total"]
    assert report.write_stages(WRITER) == {"syncWait": {"p50": 400, "p99": 1800, "mean": 500.0},
                                           "sync": {"p50": 900, "p99": 2500, "mean": 1000.0},
                                           "publish": {"p50": 50, "p99": 700, "mean": 80.0}}


def test_a_projector_without_stages_or_with_an_empty_stage_gives_none():
    assert report.lag_stages({"lagUs": summary(1, 1, 1.0)}) is None
    assert report.lag_stages({"lagStagesUs": {"network": {"count": 0}}})["network"] is None
    assert report.write_stages(None) is None


def test_the_table_has_one_row_per_model_in_milliseconds():
    run = {"projectors": {"orders": {"store": "postgres", "lagUs": STATS["lagUs"], "lagStagesUs": report.lag_stages(STATS)},
                          "status": {"store": "embedded", "lagUs": None, "lagStagesUs": None}},
           "writeNodeStages": report.write_stages(WRITER)}
    lines = report.stage_table(run).splitlines()
    assert lines[0].startswith("| model | store | sync wait | sync | publish | network | of it before poll | queue | apply |")
    assert lines[2] == "| orders | postgres | 0.40 / 1.80 | 0.90 / 2.50 | 0.05 / 0.70 | 0.10 / 0.30 | 0.02 / 0.20 | 0.50 / 2.00 " \
                       "| 1.50 / 4.00 | 1.00 / 3.00 | 3.20 / 8.00 | 4.00 / 9.00 |"
    assert lines[3] == "| status | embedded | 0.40 / 1.80 | 0.90 / 2.50 | 0.05 / 0.70 | – | – | – | – | – | – | – |"
