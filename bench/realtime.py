"""Real-time scenarios: WebSocket fan-out latency, memory per socket, a stalled client."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from common import (
    API,
    BENCH,
    PYTHON,
    Config,
    Seed,
    Server,
    log,
    rss_bytes,
    tcp_tx_queue,
    tree_cpu,
)

# --- real time ---------------------------------------------------------------------------


@dataclass
class ClientProc:
    proc: asyncio.subprocess.Process
    out: Path


async def start_clients(
    kind: str, count: int, service: Server, seed: Seed, workdir: Path, tag: str, timeout: float
) -> ClientProc:
    out = workdir / f"{tag}.json"
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        str(BENCH / "ws_clients.py"),
        kind,
        "--url",
        f"ws://127.0.0.1:{service.port}{API}/ws",
        "--cookie",
        seed.cookie,
        "--project",
        seed.project_id,
        "--count",
        str(count),
        "--timeout",
        str(timeout),
        "--out",
        str(out),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    return ClientProc(proc, out)


async def read_line(client: ClientProc, prefix: str, timeout: float) -> str:
    assert client.proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {prefix} from a client process")
        line = (await asyncio.wait_for(client.proc.stdout.readline(), remaining)).decode()
        if not line:
            raise RuntimeError(f"a client process ended before {prefix}")
        if line.startswith(prefix):
            return line.strip()


async def tell(client: ClientProc, line: str) -> None:
    assert client.proc.stdin is not None
    client.proc.stdin.write((line + "\n").encode())
    await client.proc.stdin.drain()


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def writer(
    client: httpx.AsyncClient,
    seed: Seed,
    tag: str,
    count: int,
    interval: float,
    description: str = "",
    stop_when: Any = None,
    max_count: int | None = None,
) -> dict[str, tuple[float, float]]:
    """POST tasks one by one at `interval`; returns request_id -> (sent, answered)."""
    sent: dict[str, tuple[float, float]] = {}
    i = 0
    limit = max_count or count
    while i < limit:
        if stop_when is None and i >= count:
            break
        if stop_when is not None and i >= count and stop_when():
            break
        rid = f"{tag}-{i}"
        t0 = time.monotonic()
        r = await client.post(
            f"{API}/projects/{seed.project_id}/tasks",
            json={"title": f"{tag} {i}", "description": description},
            headers={"X-Request-ID": rid},
        )
        t1 = time.monotonic()
        r.raise_for_status()
        sent[rid] = (t0, t1)
        i += 1
        if interval:
            await asyncio.sleep(max(0.0, interval - (t1 - t0)))
    return sent


def delivery_stats(
    sent: dict[str, tuple[float, float]], recv: dict[str, list[float]], connected: int
) -> dict[str, Any]:
    pairs: list[float] = []
    last_of_n: list[float] = []
    missing = 0
    for rid, (t0, _) in sent.items():
        times = recv.get(rid, [])
        missing += connected - len(times)
        lat = [(t - t0) * 1000 for t in times]
        pairs.extend(lat)
        if lat and len(lat) == connected:
            last_of_n.append(max(lat))
    write_ms = [(t1 - t0) * 1000 for t0, t1 in sent.values()]
    return {
        "events": len(sent),
        "deliveries": len(pairs),
        "missing_deliveries": missing,
        "p50_ms": pct(pairs, 50),
        "p99_ms": pct(pairs, 99),
        "max_ms": max(pairs) if pairs else float("nan"),
        "last_of_n_p50_ms": pct(last_of_n, 50),
        "last_of_n_p99_ms": pct(last_of_n, 99),
        "write_p50_ms": pct(write_ms, 50),
        "cdf_ms": [pct(pairs, q) for q in range(1, 100)] + [pct(pairs, 99.9)],
    }


def merge_recv(outputs: list[dict[str, Any]]) -> dict[str, list[float]]:
    merged: dict[str, list[float]] = defaultdict(list)
    for out in outputs:
        for rid, times in out["recv"].items():
            merged[rid].extend(times)
    return merged


async def fanout(
    n: int, service: Server, seed: Seed, http: httpx.AsyncClient, workdir: Path, smoke: bool
) -> dict[str, Any]:
    per_proc = 2500
    procs = max(1, -(-n // per_proc))
    counts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    # Writes spaced so one event's fan-out is over before the next on this 2-core machine
    # (server and clients share it): this measures latency, not a saturated queue.
    events = 5 if smoke else (40 if n <= 100 else (30 if n <= 1000 else 10))
    interval = 0.05 if n <= 100 else (0.3 if n <= 1000 else 2.0)
    await asyncio.sleep(0.5)
    rss0 = rss_bytes(service.proc.pid)
    started = time.monotonic()
    clients = [
        await start_clients("subscribe", c, service, seed, workdir, f"fanout{n}-{i}", 60)
        for i, c in enumerate(counts)
    ]
    connected = failed = 0
    try:
        for client in clients:
            _, ok, bad = (await read_line(client, "READY", 240)).split()
            connected, failed = connected + int(ok), failed + int(bad)
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(1.0)
        rss1 = rss_bytes(service.proc.pid)
        log(
            f"fan-out {n}: {connected} subscribed ({failed} failed) in {connect_seconds:.1f}s; "
            f"server RSS +{(rss1 - rss0) / 2**20:.1f} MiB"
        )
        cpu0 = tree_cpu(service.proc.pid)
        sent = await writer(http, seed, f"fan{n}", events, interval)
        for client in clients:
            await tell(client, f"expect {events}")
        outputs = []
        for client in clients:
            await read_line(client, "DONE", 90)
            outputs.append(json.loads(client.out.read_text()))
        # Server CPU for the POSTs and their fan-out (the clients are done receiving).
        cpu_per_event_ms = (tree_cpu(service.proc.pid) - cpu0) * 1000 / max(1, len(sent))
        for client in clients:
            await client.proc.wait()
    finally:
        for client in clients:
            if client.proc.returncode is None:
                client.proc.kill()
                await client.proc.wait()
    stats = delivery_stats(sent, merge_recv(outputs), connected)
    stats.update(
        subscribers=n,
        connected=connected,
        failed=failed,
        connect_seconds=connect_seconds,
        write_interval_s=interval,
        server_cpu_ms_per_event=cpu_per_event_ms,
        rss_before=rss0,
        rss_after=rss1,
        bytes_per_connection=(rss1 - rss0) / connected if connected else None,
        client_errors=[e for o in outputs for e in o["errors"]][:5],
        # Subscribes answered "unavailable, retry shortly" (session check timed out under
        # the connection storm) and retried, as a client should.
        subscribe_retries=sum(o.get("retries", 0) for o in outputs),
    )
    log(
        f"fan-out {n}: delivery p50 {stats['p50_ms']:.1f} ms, p99 {stats['p99_ms']:.1f} ms, "
        f"last-of-N p99 {stats['last_of_n_p99_ms']:.1f} ms, missing {stats['missing_deliveries']}, "
        f"server CPU {cpu_per_event_ms:.1f} ms/event"
    )
    return stats


async def stalled(
    cfg: Config, service: Server, seed: Seed, http: httpx.AsyncClient, workdir: Path
) -> dict[str, Any]:
    """Healthy subscribers' latency before, during and after one client stops reading."""
    healthy = await start_clients(
        "subscribe", cfg.stall_healthy, service, seed, workdir, "stall-healthy", 60
    )
    description = "x" * cfg.stall_description
    before_n = 10 if cfg.smoke else 100
    stall_client: ClientProc | None = None
    try:
        await read_line(healthy, "READY", 60)
        before = await writer(http, seed, "stall-before", before_n, 0.0, description)
        stall_client = await start_clients("stall", 1, service, seed, workdir, "stall-client", 30)
        client_port = int((await read_line(stall_client, "READY", 30)).split()[1])
        await asyncio.sleep(0.3)
        queue = cfg.queue_size or 256
        # The server closes the stalled client once the kernel buffers are full (the
        # socket's send queue stops growing) and then `queue` more events are waiting.
        seen: list[int] = []
        plateau_at: list[int] = []

        def overflowed() -> bool:
            tx = tcp_tx_queue(service.port, client_port)
            seen.append(tx)
            if not plateau_at and len(seen) > 5 and tx > 0 and len(set(seen[-5:])) == 1:
                plateau_at.append(len(seen))
            return bool(plateau_at) and len(seen) >= plateau_at[0] + queue + 20

        t_stall = time.monotonic()
        during = await writer(
            http,
            seed,
            "stall-during",
            0,
            0.0,
            description,
            stop_when=overflowed,
            max_count=3000 if not cfg.smoke else 400,
        )
        after = await writer(http, seed, "stall-after", before_n, 0.0, description)
        total = len(before) + len(during) + len(after)
        await tell(healthy, f"expect {total}")
        await tell(stall_client, "drain")
        await read_line(stall_client, "DONE", 30)
        await read_line(healthy, "DONE", 60)
        await healthy.proc.wait()
        await stall_client.proc.wait()
        healthy_out = json.loads(healthy.out.read_text())
        stall_out = json.loads(stall_client.out.read_text())
    finally:
        for client in (healthy, stall_client):
            if client is not None and client.proc.returncode is None:
                client.proc.kill()
                await client.proc.wait()
    recv = merge_recv([healthy_out])
    connected = healthy_out["connected"]
    # What went to the stalled socket, plus the one being written, plus a full queue: the
    # next event overflowed it and closed the connection (1013).
    close_index = min(len(during), stall_out["events"] + queue + 2)
    during_items = list(during.items())
    stalled_part = dict(during_items[:close_index])
    after_part = dict(during_items[close_index:]) | after
    closed_t = during_items[close_index - 1][1][0] if close_index else t_stall
    result = {
        "healthy_subscribers": connected,
        "event_bytes_approx": cfg.stall_description + 400,
        "queue_size": queue,
        # 1013 when the close frame still fit in the socket buffers; otherwise the server
        # drops the connection and the client, draining, reaches EOF without a close frame.
        # Still open would mean no EOF within the drain's 3 s read timeout.
        "server_closed_stalled": stall_out["close_code"] == 1013 or stall_out["eof"],
        "close_write_index_estimate": close_index,
        "seconds_to_close": closed_t - t_stall,
        "writes_during": len(during),
        "stalled_client": stall_out,
        "before": delivery_stats(before, recv, connected),
        "during": delivery_stats(stalled_part, recv, connected),
        "after": delivery_stats(after_part, recv, connected),
    }
    for phase in ("before", "during", "after"):
        result[phase].pop("cdf_ms")
    result["timeline"] = [
        {"t": t0 - t_stall, "phase": phase, "max_ms": max((t - t0) * 1000 for t in recv[rid])}
        for phase, sent in (("before", before), ("during", stalled_part), ("after", after_part))
        for rid, (t0, _) in sent.items()
        if recv.get(rid)
    ]
    log(
        f"stall: closed={result['server_closed_stalled']} at write ~{close_index}, "
        f"stalled client saw close code {stall_out['close_code']}; healthy p99 "
        f"before {result['before']['p99_ms']:.1f} / during {result['during']['p99_ms']:.1f} / "
        f"after {result['after']['p99_ms']:.1f} ms"
    )
    return result


async def realtime(cfg: Config, service: Server, seed: Seed, workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"fanout": [], "stall": None}
    headers = {"Authorization": f"Bearer {seed.token}"}
    async with httpx.AsyncClient(base_url=service.base, headers=headers, timeout=30) as http:
        for n in cfg.subscribers:
            try:
                out["fanout"].append(await fanout(n, service, seed, http, workdir, cfg.smoke))
            except Exception as exc:  # e.g. 10,000 sockets too many for this machine
                log(f"fan-out {n} failed: {exc!r}")
                out["fanout"].append({"subscribers": n, "error": repr(exc)})
        try:
            out["stall"] = await stalled(cfg, service, seed, http, workdir)
        except Exception as exc:
            log(f"stall scenario failed: {exc!r}")
            out["stall"] = {"error": repr(exc)}
    return out
