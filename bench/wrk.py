"""HTTP scenarios: seed data through the API, then wrk against the service and the floor."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import statistics
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from common import API, Config, Seed, Server, backend_pids, cpu_seconds, log, tree_cpu


async def seed(base: str, n_tasks: int, hook_url: str | None = None) -> Seed:
    async with httpx.AsyncClient(base_url=base + API, timeout=30) as client:
        email = f"bench-{secrets.token_hex(4)}@example.com"
        r = await client.post(
            "/auth/register",
            json={"email": email, "password": "bench-password-1", "display_name": "Bench"},
        )
        r.raise_for_status()
        csrf = r.json()["csrf_token"]
        cookie = client.cookies["session"]
        headers = {"X-CSRF-Token": csrf}
        r = await client.post("/auth/tokens", json={"name": "bench"}, headers=headers)
        r.raise_for_status()
        token = r.json().get("token") or r.json().get("secret")
        r = await client.post("/projects", json={"name": "bench"}, headers=headers)
        r.raise_for_status()
        project_id = r.json()["id"]
        labels = []
        for name, color in (("bug", "#d73a4a"), ("feature", "#a2eeef"), ("chore", "#cccccc")):
            r = await client.post(
                f"/projects/{project_id}/labels",
                json={"name": name, "color": color},
                headers=headers,
            )
            r.raise_for_status()
            labels.append(r.json()["id"])
        statuses = ("todo", "in_progress", "done")
        priorities = ("none", "low", "medium", "high", "urgent")
        ids: list[str] = []
        by_status: dict[str, list[str]] = defaultdict(list)
        gate = asyncio.Semaphore(8)

        async def create(i: int) -> None:
            body = {
                "title": f"Task {i}: benchmark seed",
                "description": "Seeded by bench/run.py. " * (i % 4),
                "status": statuses[i % 3],
                "priority": priorities[i % 5],
                "label_ids": labels[: i % 3],
            }
            async with gate:
                resp = await client.post(
                    f"/projects/{project_id}/tasks", json=body, headers=headers
                )
            resp.raise_for_status()
            ids.append(resp.json()["id"])
            by_status[statuses[i % 3]].append(resp.json()["id"])

        await asyncio.gather(*(create(i) for i in range(n_tasks)))
        hooked = ""
        if hook_url is not None:
            r = await client.post("/projects", json={"name": "bench hooked"}, headers=headers)
            r.raise_for_status()
            hooked = r.json()["id"]
            r = await client.post(
                f"/projects/{hooked}/webhooks",
                json={"url": hook_url, "events": ["*"]},
                headers=headers,
            )
            r.raise_for_status()
        return Seed(cookie, csrf, token, project_id, ids, dict(by_status), hooked)


# --- wrk ---------------------------------------------------------------------------------

LUA_DONE = r"""
done = function(summary, latency, requests)
  local cdf = {}
  for q = 1, 99 do cdf[#cdf + 1] = latency:percentile(q) end
  cdf[#cdf + 1] = latency:percentile(99.5)
  cdf[#cdf + 1] = latency:percentile(99.9)
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%f,"cdf_us":[%s]}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, table.concat(cdf, ",")))
end
"""


def lua_list(values: Sequence[str]) -> str:
    return "{" + ",".join(f'"{v}"' for v in values) + "}"


def lua_get(seed: Seed) -> str:
    return (
        f"""
local paths = {{}}
local ids = {lua_list(seed.task_ids)}
for i, id in ipairs(ids) do paths[i] = "{API}/tasks/" .. id end
local n = 0
wrk.headers["Cookie"] = "session={seed.cookie}"
request = function()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end
"""
        + LUA_DONE
    )


def lua_list_tasks(seed: Seed) -> str:
    return (
        f"""
wrk.path = "{API}/projects/{seed.project_id}/tasks?status=todo&limit=50"
wrk.headers["Cookie"] = "session={seed.cookie}"
"""
        + LUA_DONE
    )


def lua_create(seed: Seed, project_id: str | None = None) -> str:
    return (
        f"""
wrk.method = "POST"
wrk.path = "{API}/projects/{project_id or seed.project_id}/tasks"
wrk.headers["Authorization"] = "Bearer {seed.token}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{{"title":"created by wrk","priority":"high"}}'
"""
        + LUA_DONE
    )


def lua_move(seed: Seed) -> str:
    column = seed.by_status["in_progress"]
    return (
        f"""
local ids = {lua_list(column)}
local n = 0
wrk.headers["Authorization"] = "Bearer {seed.token}"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local a = ids[math.random(#ids)]
  local b = ids[math.random(#ids)]
  while b == a do b = ids[math.random(#ids)] end
  local side = (n % 2 == 0) and "before_id" or "after_id"
  return wrk.format("POST", "{API}/tasks/" .. a .. "/move", nil,
                    '{{"' .. side .. '":"' .. b .. '"}}')
end
"""
        + LUA_DONE
    )


@dataclass
class Scenario:
    name: str
    title: str
    lua: str
    has_floor: bool


def run_wrk(
    server: Server, script: Path, duration: float, connections: int, backends: bool = True
) -> dict[str, Any]:
    # PostgreSQL backends are listed per run: the service's pool opens connections lazily,
    # and a list taken earlier would miss them (and under-count its database CPU).
    pids = backend_pids() if backends else []
    cpu0, back0 = tree_cpu(server.proc.pid), cpu_seconds(pids)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            server.base,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu1, back1 = tree_cpu(server.proc.pid), cpu_seconds(pids)
    match = re.search(r"^BENCHJSON (.*)$", out.stdout, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    data: dict[str, Any] = json.loads(match.group(1))
    requests = max(1, data["requests"])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["cpu_ms_per_req"] = (cpu1 - cpu0) * 1000 / requests
    data["backend_cpu_ms_per_req"] = (back1 - back0) * 1000 / requests
    data["errors"] = sum(
        data[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors")
    )
    return data


def summarise_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    return {
        "rps": med("rps"),
        "rps_min": min(r["rps"] for r in runs),
        "rps_max": max(r["rps"] for r in runs),
        "p50_ms": med("p50_us") / 1000,
        "p99_ms": med("p99_us") / 1000,
        "cpu_ms_per_req": med("cpu_ms_per_req"),
        "backend_cpu_ms_per_req": med("backend_cpu_ms_per_req"),
        "errors": sum(r["errors"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "cdf_ms": [
            statistics.median(r["cdf_us"][i] for r in runs) / 1000
            for i in range(len(runs[0]["cdf_us"]))
        ],
        "rounds": [
            {k: r[k] for k in ("rps", "p50_us", "p99_us", "cpu_ms_per_req", "errors")} for r in runs
        ],
    }


def http_scenarios(
    cfg: Config, seed: Seed, service: Server, floor: Server, workdir: Path, only: str | None
) -> list[dict[str, Any]]:
    scenarios = [
        Scenario("get_task", "GET task by id", lua_get(seed), True),
        Scenario("list_tasks", "List 50 tasks (status filter)", lua_list_tasks(seed), True),
        Scenario("create_task", "Create task", lua_create(seed), False),
        Scenario(
            "create_task_webhook",
            "Create task, project with 1 webhook (delivered by the same process)",
            lua_create(seed, seed.hooked_project_id),
            False,
        ),
        Scenario("move_task", "Move task (before/after)", lua_move(seed), False),
    ]
    if only:
        scenarios = [sc for sc in scenarios if sc.name in only.split(",")]
    results = []
    for sc in scenarios:
        script = workdir / f"{sc.name}.lua"
        script.write_text(sc.lua)
        targets = [service, floor] if sc.has_floor else [service]
        if cfg.warmup:
            for target in targets:
                run_wrk(target, script, cfg.warmup, cfg.connections)
        runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
        for round_no in range(cfg.rounds):
            order = targets if round_no % 2 == 0 else list(reversed(targets))
            for target in order:
                run = run_wrk(target, script, cfg.duration, cfg.connections)
                runs[target.name].append(run)
                log(
                    f"{sc.name} {target.name} round {round_no + 1}: {run['rps']:.0f} req/s, "
                    f"p50 {run['p50_us'] / 1000:.1f} ms, p99 {run['p99_us'] / 1000:.1f} ms, "
                    f"cpu {run['cpu_ms_per_req']:.2f} ms/req, errors {run['errors']}"
                )
        entry: dict[str, Any] = {"name": sc.name, "title": sc.title}
        for name, target_runs in runs.items():
            entry[name] = summarise_runs(target_runs)
        if sc.has_floor:
            ratios = [
                s["rps"] / f["rps"] for s, f in zip(runs["service"], runs["floor"], strict=True)
            ]
            entry["ratio_to_floor"] = statistics.median(ratios)
            entry["ratio_rounds"] = ratios
        results.append(entry)
    return results
