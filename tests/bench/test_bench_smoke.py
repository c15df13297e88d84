"""The benchmark's seconds-long smoke mode runs end to end, so `make bench` cannot rot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("TM_TEST_BACKEND") != "postgres",
        reason="the benchmark needs PostgreSQL + Redis (TM_TEST_BACKEND=postgres)",
    ),
]

HTTP_SCENARIOS = {"get_task", "list_tasks", "create_task", "create_task_webhook", "move_task"}
# Its own Redis database (the bench flushes it): not the suite's, not `make bench`'s 13.
REDIS_URL = os.environ.get("TM_BENCH_SMOKE_REDIS_URL", "redis://127.0.0.1:6379/14")


def test_bench_smoke(tmp_path: Path) -> None:
    if shutil.which("wrk") is None and (shutil.which("apt-get") is None or os.geteuid() != 0):
        pytest.skip("wrk is not installed and cannot be here (apt-get install -y wrk)")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "BENCH_REDIS_URL": REDIS_URL},
        capture_output=True,
        text=True,
        timeout=240,  # the sync scenarios add a bootstrap and a catch-up
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    http = {h["name"]: h for h in results["http"]}
    assert set(http) == HTTP_SCENARIOS
    for name, entry in http.items():
        assert entry["service"]["rps"] > 0, name
        assert entry["service"]["errors"] == 0, (name, entry["service"])
        if "floor" in entry:
            assert entry["floor"]["rps"] > 0, name
            assert entry["ratio_to_floor"] > 0, name
    fanout = {f["subscribers"]: f for f in results["realtime"]["fanout"]}
    assert set(fanout) == {1, 10}
    for n, entry in fanout.items():
        assert entry["connected"] == n, entry
        assert entry["missing_deliveries"] == 0, entry
        assert entry["p50_ms"] > 0, entry
    stall = results["realtime"]["stall"]
    assert stall["server_closed_stalled"], stall
    assert stall["after"]["missing_deliveries"] == 0, stall
    sync = results["sync"]
    assert sync["bootstrap"]["rows"] >= sync["tasks"], sync
    assert sync["bootstrap"]["bytes"] > 0 and sync["bootstrap"]["ms"]["median"] > 0, sync
    assert sync["catch_up_http"]["bytes"] > 0 and sync["catch_up_ws"]["frames"] > 0, sync
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark results")
    assert {t["target"] for t in results["targets"]} >= {"GET task >= 0.5x floor"}
