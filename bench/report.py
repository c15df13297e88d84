"""Results: machine description, targets, the Markdown table and the PNG plots."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from common import log
from sync_bench import sync_markdown

# --- output ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())

    def version(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    return {
        "nproc": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else "unknown",
        "memory_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "redis": version(["redis-server", "--version"]),
        "wrk": _wrk_version(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


# Issue 12: (kind, goal, label). "ratio" is req/s against the same run's floor, "rps" is
# req/s (at least), "cpu" is the app's CPU ms per request (at most).
TARGETS: dict[str, list[tuple[str, float, str]]] = {
    "get_task": [
        ("ratio", 0.5, "GET task >= 0.5x floor"),
        ("cpu", 0.8, "GET task app CPU <= 0.8 ms"),
    ],
    "list_tasks": [
        ("ratio", 0.35, "list 50 >= 0.35x floor"),
        ("cpu", 1.5, "list 50 app CPU <= 1.5 ms"),
    ],
    "create_task": [
        ("rps", 500, "create >= 500 req/s (one project)"),
        ("cpu", 2.0, "create app CPU <= 2 ms"),
    ],
    # Issue 15: a write's cost with one webhook endpoint, its delivery (signing, the POST to
    # bench/receiver.py, the log row) run by the same process, stays within the create budget.
    "create_task_webhook": [("cpu", 2.0, "create + 1 webhook delivery app CPU <= 2 ms")],
    "move_task": [("rps", 500, "move >= 500 req/s (one project)")],
}


def _wrk_version() -> str | None:
    """`wrk -v` prints its version but exits 1."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (
        (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else None
    )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    http = {h["name"]: h for h in results["http"]}
    for name, goals in TARGETS.items():
        h = http.get(name)
        if h is None:
            continue
        for kind, goal, label in goals:
            if kind == "ratio" and "ratio_to_floor" not in h:
                continue
            if kind == "cpu":
                value = h["service"]["cpu_ms_per_req"]
                met = value <= goal
            else:
                value = h["ratio_to_floor"] if kind == "ratio" else h["service"]["rps"]
                met = value >= goal
            rows.append({"target": label, "value": value, "met": met, "goal": goal})
    fan = {f["subscribers"]: f for f in results["realtime"]["fanout"] if "p99_ms" in f}
    for n, goal in ((1000, 30.0), (10000, 250.0)):
        if n in fan:
            v = fan[n]["p99_ms"]
            rows.append(
                {
                    "target": f"fan-out p99 <= {goal:g} ms at {n:,}",
                    "value": v,
                    "met": v <= goal,
                    "goal": goal,
                }
            )
    per_conn = [
        f["bytes_per_connection"]
        for f in fan.values()
        if f["subscribers"] >= 1000 and f.get("bytes_per_connection")
    ]
    if per_conn:
        v = max(per_conn) / 1024
        rows.append(
            {"target": "<= 40 KiB per idle WebSocket", "value": v, "met": v <= 40, "goal": 40}
        )
    return rows


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"# Benchmark results ({results['mode']} run, {results['finished_at']})",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB RAM, "
        f"Linux {m['kernel']}, Python {m['python']}, {results.get('postgres', '?')}, "
        f"{m['redis']}; load average at start {' '.join(m['loadavg_at_start'])}.",
        f"Service and floor: 1 worker each (uvicorn, uvloop + httptools); wrk -t1 "
        f"-c{results['config']['connections']}, {results['config']['rounds']} rounds x "
        f"{results['config']['duration']} s per target, alternating; medians shown.",
        "",
        "## HTTP",
        "",
        "| scenario | target | req/s (min-max) | p50 ms | p99 ms | app CPU ms/req "
        "| PG+Redis CPU ms/req (all of the machine's) | errors | service/floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for h in results["http"]:
        for target in ("service", "floor"):
            if target not in h:
                continue
            s = h[target]
            ratio = (
                f"{h['ratio_to_floor']:.2f}x"
                if target == "service" and "ratio_to_floor" in h
                else ""
            )
            lines.append(
                f"| {h['title']} | {target} "
                f"| {s['rps']:.0f} ({s['rps_min']:.0f}-{s['rps_max']:.0f}) "
                f"| {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['cpu_ms_per_req']:.2f} "
                f"| {s['backend_cpu_ms_per_req']:.2f} | {s['errors']} | {ratio} |"
            )
    lines += [
        "",
        "## Real time (WebSocket fan-out, one project)",
        "",
        "| subscribers | connected | connect s | write p50 ms | delivery p50 ms | p99 ms "
        "| last-of-N p50 ms | last-of-N p99 ms | missing | server RSS growth / conn "
        "| server CPU ms/event |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in results["realtime"]["fanout"]:
        if "error" in f:
            lines.append(f"| {f['subscribers']:,} | failed: {f['error']} | | | | | | | | | |")
            continue
        per = f.get("bytes_per_connection")
        lines.append(
            f"| {f['subscribers']:,} | {f['connected']:,} | {f['connect_seconds']:.1f} "
            f"| {f['write_p50_ms']:.1f} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} "
            f"| {f['last_of_n_p50_ms']:.1f} | {f['last_of_n_p99_ms']:.1f} "
            f"| {f['missing_deliveries']} | {per / 1024 if per else 0:.1f} KiB "
            f"| {f.get('server_cpu_ms_per_event', 0):.1f} |"
        )
    st = results["realtime"].get("stall") or {}
    if "before" in st:
        sc = st["stalled_client"]
        lines += [
            "",
            "## A stalled client",
            "",
            f"{st['healthy_subscribers']} healthy subscribers, events of ~"
            f"{st['event_bytes_approx'] // 1000} kB; one raw client (4 KiB receive buffer) "
            f"subscribes and stops reading. Server closed it: {st['server_closed_stalled']} "
            f"(send queue {st['queue_size']}; at about write {st['close_write_index_estimate']}, "
            f"{st['seconds_to_close'] or 0:.1f} s); the stalled client, draining afterwards, "
            f"got {sc['events']} events, close code {sc['close_code']} (None: dropped without a "
            f"close frame, the socket buffers being full), EOF {sc['eof']}.",
            "",
            "| phase | writes | healthy delivery p50 ms | p99 ms | last-of-N p99 ms | missing |",
            "|---|---|---|---|---|---|",
        ]
        for phase in ("before", "during", "after"):
            p = st[phase]
            lines.append(
                f"| {phase} | {p['events']} | {p['p50_ms']:.1f} | {p['p99_ms']:.1f} "
                f"| {p['last_of_n_p99_ms']:.1f} | {p['missing_deliveries']} |"
            )
    lines += sync_markdown(results.get("sync") or {})
    lines += ["", "## Targets (issue 12)", "", "| target | measured | met |", "|---|---|---|"]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['value']:.2f} | {'yes' if t['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def plots(results: dict[str, Any], out_dir: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install '.[bench]'): no plots")
        return []
    made = []
    quantiles = [*range(1, 100), 99.5, 99.9]

    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = [h["title"] for h in results["http"]]
    xs = range(len(names))
    for offset, target, color in ((-0.2, "service", "#3b6ea5"), (0.2, "floor", "#b0b0b0")):
        vals = [h[target]["rps"] if target in h else 0 for h in results["http"]]
        lo = [
            h[target]["rps"] - h[target]["rps_min"] if target in h else 0 for h in results["http"]
        ]
        hi = [
            h[target]["rps_max"] - h[target]["rps"] if target in h else 0 for h in results["http"]
        ]
        ax.bar([x + offset for x in xs], vals, 0.4, yerr=[lo, hi], label=target, color=color)
    ax.set_xticks(list(xs), names, fontsize=8)
    ax.set_ylabel("requests/s (median, min-max)")
    ax.set_title("HTTP throughput, 1 worker")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "http_throughput.png", dpi=110)
    plt.close(fig)
    made.append("http_throughput.png")

    fig, axes = plt.subplots(1, len(results["http"]), figsize=(14, 3.8), sharey=True)
    for ax, h in zip(axes, results["http"], strict=True):
        for target, color in (("service", "#3b6ea5"), ("floor", "#888888")):
            if target in h:
                ax.plot(h[target]["cdf_ms"], quantiles, label=target, color=color)
        ax.set_xscale("log")
        ax.set_title(h["title"], fontsize=9)
        ax.set_xlabel("latency ms (log)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("percentile")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "http_latency_cdf.png", dpi=110)
    plt.close(fig)
    made.append("http_latency_cdf.png")

    fan = [f for f in results["realtime"]["fanout"] if "cdf_ms" in f]
    if fan:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for f in fan:
            ax.plot(f["cdf_ms"], [*range(1, 100), 99.9], label=f"{f['subscribers']:,} subscribers")
        ax.set_xscale("log")
        ax.set_xlabel("write-to-delivery latency ms (log)")
        ax.set_ylabel("percentile")
        ax.set_title("WebSocket fan-out latency (one project)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "fanout_latency_cdf.png", dpi=110)
        plt.close(fig)
        made.append("fanout_latency_cdf.png")

    st = results["realtime"].get("stall") or {}
    if st.get("timeline"):
        fig, ax = plt.subplots(figsize=(8, 4))
        for phase, color in (("before", "#888888"), ("during", "#d9822b"), ("after", "#3b6ea5")):
            pts = [p for p in st["timeline"] if p["phase"] == phase]
            ax.scatter(
                [p["t"] for p in pts], [p["max_ms"] for p in pts], s=6, color=color, label=phase
            )
        if st.get("seconds_to_close") is not None:
            ax.axvline(
                st["seconds_to_close"], color="red", linestyle="--", label="stalled client closed"
            )
        ax.set_xlabel("seconds since the stalled client subscribed")
        ax.set_ylabel("slowest healthy subscriber, ms")
        ax.set_title("Healthy subscribers while one client stalls")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "stall_timeline.png", dpi=110)
        plt.close(fig)
        made.append("stall_timeline.png")
    return made
