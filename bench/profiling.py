"""py-spy profiles of the service under wrk load, summarised by function and package."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import PYTHON, Config, Seed, Server, log
from wrk import lua_create, lua_get, lua_list_tasks, run_wrk


def profile_summary(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive shares of file:function in the event loop thread's stacks.

    Only stacks under asyncio's Runner count: py-spy also samples idle worker threads
    (anyio's thread pool, asyncpg's) blocked in Condition.wait, which would drown the
    loop's real costs; their share is reported as `other_thread_samples`.
    """
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    total = other = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        if "asyncio/runners.py" not in stack:
            other += count
            continue
        total += count
        frames = []
        for frame in stack.split(";"):
            m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
            func, path = (m.group(1), m.group(2)) if m else (frame, "?")
            path = re.sub(r".*/site-packages/", "", path)
            path = re.sub(r".*/src/taskmanager/", "taskmanager/", path)
            path = re.sub(r".*/lib/python3\.\d+/", "stdlib/", path)
            frames.append(f"{path}:{func}")
        if frames:
            self_counts[frames[-1]] += count
        for name in set(frames):
            incl_counts[name] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, 100 * v / total) for k, v in counter.most_common(top)]

    by_pkg: Counter[str] = Counter()
    for name, count in self_counts.items():
        by_pkg[name.split("/", 1)[0] if "/" in name else name.split(":", 1)[0]] += count
    total = max(total, 1)
    return {
        "samples": total,
        "other_thread_samples": other,
        "self": share(self_counts),
        "inclusive": share(incl_counts),
        "self_by_package": [(k, 100 * v / total) for k, v in by_pkg.most_common(15)],
    }


def run_profiles(
    cfg: Config, seed: Seed, service: Server, workdir: Path, results_dir: Path
) -> dict[str, Any]:
    pyspy = str(Path(PYTHON).with_name("py-spy"))
    if not Path(pyspy).exists():  # a profiling tool, not a product dependency
        log("py-spy is missing: pip install py-spy into the virtualenv")
        subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    out: dict[str, Any] = {}
    scenarios = (
        ("get_task", lua_get(seed)),
        ("list_tasks", lua_list_tasks(seed)),
        ("create_task", lua_create(seed)),
    )
    for name, lua in scenarios:
        script = workdir / f"profile-{name}.lua"
        script.write_text(lua)
        raw = results_dir / f"profile-{name}.txt"
        spy = subprocess.Popen(
            [
                pyspy,
                "record",
                "--pid",
                str(service.proc.pid),
                "--duration",
                "12",
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        run = run_wrk(service, script, 10, cfg.connections, backends=False)
        spy.wait(60)
        out[name] = {"rps_under_profiler": run["rps"], **profile_summary(raw)}
        log(f"profiled {name}: {out[name]['samples']} samples")
    return out
