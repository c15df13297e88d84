"""Schemathesis over the app's own OpenAPI, against the real test server over HTTP.

Every operation with positive data (must be answered as documented) and negative data
(must be refused with a documented 4xx), then stateful sequences along the links
schemathesis infers. CI runs a small derandomized budget (profile `fuzz-ci`);
`make fuzz` a long random one (`FUZZ_EXAMPLES` per operation and mode).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from schemathesis import GenerationMode

from tests.fuzz.runner import API, Report, fuzz_operations, fuzz_stateful
from tests.helpers import verify_address
from tests.server import RunningServer

# Reaching these with a 2xx shows the run got past authentication and used real ids.
MUST_SUCCEED = {
    f"POST {API}/projects",
    f"GET {API}/projects/{{project_id}}",
    f"PATCH {API}/projects/{{project_id}}",
    f"POST {API}/projects/{{project_id}}/tasks",
    f"GET {API}/tasks/{{task_id}}",
    f"DELETE {API}/tasks/{{task_id}}",
    f"POST {API}/tasks/{{task_id}}/comments",
    f"PATCH {API}/labels/{{label_id}}",
    f"GET {API}/projects/{{project_id}}/events",
}


def _verifier(server: RunningServer) -> Callable[[str], None]:
    """For the fuzzer's thread: verify an address in the server's database, on this loop."""
    loop = asyncio.get_running_loop()

    def verify(email: str) -> None:
        asyncio.run_coroutine_threadsafe(verify_address(server, email), loop).result()

    return verify


def _fail_on(report: Report) -> None:
    assert not report.failures, "\n\n".join(report.failures)


async def test_positive_data_is_answered_as_documented(server: RunningServer) -> None:
    report = await asyncio.to_thread(
        fuzz_operations, server.base_url, GenerationMode.POSITIVE, _verifier(server)
    )
    _fail_on(report)
    assert report.succeeded() >= MUST_SUCCEED, MUST_SUCCEED - report.succeeded()


async def test_negative_data_is_rejected_with_a_documented_4xx(server: RunningServer) -> None:
    report = await asyncio.to_thread(
        fuzz_operations, server.base_url, GenerationMode.NEGATIVE, _verifier(server)
    )
    _fail_on(report)
    assert report.statuses, "no request was made"


async def test_stateful_sequences(server: RunningServer) -> None:
    links, report = await asyncio.to_thread(fuzz_stateful, server.base_url, _verifier(server))
    _fail_on(report)
    assert links > 0
    # Sequences went past their first step: something was created, then used.
    assert f"POST {API}/projects" in report.succeeded()
    assert len(report.statuses) > 5, report.statuses
