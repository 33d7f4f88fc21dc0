"""The lag experiment's "nothing lost" check against acknowledgements (scripts/lagexp/checks.py):
a model that agrees with the write node's head still fails when that head is short of what
`prism load` was acknowledged."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from lagexp import checks  # noqa: E402

LOAD = {"acknowledged": {"commands": 600, "highestPosition": 1600}}


def test_every_model_at_the_highest_acknowledged_position_passes():
    result = checks.acknowledged(LOAD, 1600, {"orders": {"applied": 1600}, "status": {"applied": 1600}})
    assert result == {"commands": 600, "highestPosition": 1600, "headCovers": True,
                      "reached": {"orders": True, "status": True}, "allReached": True}


def test_a_model_short_of_the_acknowledged_position_fails():
    result = checks.acknowledged(LOAD, 1600, {"orders": {"applied": 1600}, "status": {"applied": 1599}})
    assert result["reached"] == {"orders": True, "status": False}
    assert result["allReached"] is False


def test_a_head_short_of_the_acknowledged_position_fails_even_when_the_models_match_it():
    # Acknowledged events the write node no longer has: applied == head, yet events were lost.
    result = checks.acknowledged(LOAD, 1500, {"orders": {"applied": 1500}})
    assert result["headCovers"] is False
    assert result["allReached"] is False


def test_a_report_without_acknowledgements_or_a_silent_model_fails():
    assert checks.acknowledged({}, 1600, {"orders": {"applied": 1600}})["allReached"] is False
    assert checks.acknowledged(LOAD, 1600, {"orders": {"applied": None}})["allReached"] is False
