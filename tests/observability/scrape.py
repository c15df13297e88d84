"""Read /metrics over HTTP and look samples up by name and labels."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when that label set has not been seen yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def wait_for_value(
    client: httpx.AsyncClient,
    name: str,
    check: Callable[[float], bool],
    timeout: float = 10.0,
    **labels: str,
) -> float:
    """Scrape until the sample satisfies `check` (asynchronous bookkeeping settles)."""
    deadline = time.monotonic() + timeout
    while True:
        current = value(await scrape(client), name, **labels)
        if check(current):
            return current
        assert time.monotonic() < deadline, f"{name}{labels} stayed at {current}"
        await asyncio.sleep(0.05)
