"""Property tests over every date, cursor and numeric input the OpenAPI spec declares: the
extremes of each type, NUL and lone surrogates never give a 5xx, and the keep-alive
connection survives every answer. Bounded and derandomized: a few seconds per input."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskmanager.app import create_app
from taskmanager.config import Settings
from tests.helpers import API, ApiClient, Team, create_task, team, team_users
from tests.server import RunningServer
from tests.wire import ConnectCounter, assert_connection_kept


@dataclass(frozen=True)
class Target:
    method: str
    path: str
    where: str  # "query" or "body"
    name: str
    kind: str  # "integer", "number", "date-time" or "cursor"
    baseline: tuple[tuple[str, Any], ...] = ()  # the body's other required fields

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.where}.{self.name}"


def _kind(name: str, schema: dict[str, Any]) -> str | None:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") in ("integer", "number"):
            return str(option["type"])
        if option.get("format") == "date-time":
            return "date-time"
    return "cursor" if name == "cursor" else None


def _targets() -> list[Target]:
    """Every such input of the spec, read from the app itself (no server needed)."""
    spec = create_app(Settings(_env_file=None)).openapi()
    components = spec["components"]["schemas"]
    found: list[Target] = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", []):
                kind = _kind(param["name"], param["schema"])
                if kind and param["in"] == "query":
                    found.append(Target(method, path, "query", param["name"], kind))
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = content.get("schema", {}).get("$ref", "")
            schema = components.get(ref.rsplit("/", 1)[-1], {})
            example = (schema.get("examples") or [{}])[0]
            base = tuple((f, example[f]) for f in schema.get("required", []))
            for field, field_schema in schema.get("properties", {}).items():
                kind = _kind(field, field_schema)
                if kind:
                    found.append(Target(method, path, "body", field, kind, base))
    return found


__all__ = ["team", "team_users"]  # fixtures
TARGETS = _targets()
HOSTILE_TEXT = ["", "\x00", "a\x00b", "\ud800", "x\udfff", "\ufeff", "9" * 400, "%00", "null"]
EXTREME_INTS = [
    0, -1, 1, 2**15 - 1, 2**15, -(2**15) - 1, 2**31 - 1, 2**31, -(2**31) - 1,
    2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**40, -(10**40),
]  # fmt: skip
EXTREME_DATES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59.999999+23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00",
]
_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)
_dates = st.datetimes(timezones=_offsets).map(lambda d: d.isoformat())
_text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40))
_ints = st.one_of(st.sampled_from(EXTREME_INTS), st.integers())
_floats = st.floats(allow_nan=False, allow_infinity=False)
STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "integer": st.one_of(_ints, _floats, _text),
    "number": st.one_of(_ints, _floats, _text),
    "date-time": st.one_of(st.sampled_from(EXTREME_DATES), _dates, _text, _ints),
    "cursor": _text,
}


def _query_value(value: Any) -> str:
    # Lone surrogates go out as the invalid UTF-8 a hostile client would send.
    return urllib.parse.quote(str(value), safe="", errors="surrogatepass")


@dataclass
class Probe:
    client: ApiClient
    counter: ConnectCounter
    ids: dict[str, str]

    async def send(self, target: Target, value: Any) -> None:
        url = target.path
        for name, real in self.ids.items():
            url = url.replace("{" + name + "}", real)
        kwargs: dict[str, Any] = {"extensions": self.counter.extensions}
        if target.where == "query":
            url += f"?{target.name}={_query_value(value)}"
        else:
            body = dict(target.baseline) | {target.name: value}
            # ensure_ascii: a lone surrogate travels as a JSON escape, which is valid JSON.
            kwargs["content"] = json.dumps(body).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        request = self.client.build_request(target.method.upper(), url, **kwargs)
        response = await self.client.send(request, stream=True)
        try:
            streaming = response.headers.get("content-type", "").startswith("text/event-stream")
            if not streaming:
                await response.aread()
            assert response.status_code < 500, f"{target} = {value!r}: {response.status_code}"
        finally:
            await response.aclose()
        if streaming:
            return  # a live stream ends by closing its connection: that is its nature
        await assert_connection_kept(self.client, self.counter)


@pytest.fixture
async def probe(server: RunningServer, team: Team) -> AsyncIterator[Probe]:
    task = await create_task(team["member"], team.project_id, "probe")
    async with ApiClient(base_url=server.base_url, timeout=30) as client:
        await client.login(team["member"].email)
        yield Probe(
            client, ConnectCounter(), {"project_id": team.project_id, "task_id": task["id"]}
        )


def test_the_spec_has_the_inputs_we_expect() -> None:
    names = {(t.where, t.name) for t in TARGETS}
    assert {("body", "due_at"), ("query", "due_before"), ("query", "cursor")} <= names
    assert {("query", "limit"), ("query", "after_seq"), ("body", "expires_in_days")} <= names


@pytest.mark.parametrize("target", TARGETS, ids=str)
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_input_gives_a_5xx_or_drops_the_connection(
    probe: Probe, target: Target, data: st.DataObject
) -> None:
    value = data.draw(STRATEGIES[target.kind], label=target.name)
    await probe.send(target, value)


async def test_the_probe_sees_a_closed_connection(probe: Probe) -> None:
    """The harness itself: a connection the server closes is noticed."""
    url = f"{API}/projects/{probe.ids['project_id']}/tasks"
    response = await probe.client.get(url, extensions=probe.counter.extensions)
    assert response.status_code == 200
    await assert_connection_kept(probe.client, probe.counter)
    closing = await probe.client.get(
        url, headers={"Connection": "close"}, extensions=probe.counter.extensions
    )
    assert closing.status_code == 200
    with pytest.raises(AssertionError, match="closed the keep-alive connection"):
        await assert_connection_kept(probe.client, probe.counter)
