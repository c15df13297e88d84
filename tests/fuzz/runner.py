"""Schemathesis against a running server, driven synchronously (run it in a worker thread).

The test server runs on the test session's event loop, so the fuzz tests hand these
functions to `asyncio.to_thread`: the loop keeps serving while Hypothesis drives
requests at it over real HTTP.
"""

from __future__ import annotations

import os
import traceback
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import FlakyReplay, FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

API = "/api/v1"
PASSWORD = "a sturdy passphrase 42"
REQUEST_TIMEOUT = 15.0
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]

# CI: a fixed small budget and a derandomized search, so a run is quick and repeatable.
hypothesis.settings.register_profile(
    "fuzz-ci",
    max_examples=int(os.environ.get("FUZZ_CI_EXAMPLES", "10")),
    stateful_step_count=8,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its curl
)
# `make fuzz`: FUZZ_EXAMPLES per operation and mode, a fresh random search, shrinking on.
hypothesis.settings.register_profile(
    "fuzz-long",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES") or "300"),
    stateful_step_count=15,
    deadline=None,
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)


def profile() -> hypothesis.settings:
    long_run = bool(os.environ.get("FUZZ_EXAMPLES"))
    return hypothesis.settings.get_profile("fuzz-long" if long_run else "fuzz-ci")


POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]

# An open SSE stream never ends; tests/realtime covers it.
STREAM = f"{API}/projects/{{project_id}}/stream"


@dataclass
class Report:
    """What a run did: statuses per operation (to prove it got past auth), and failures."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, label: str, status: int) -> None:
        self.statuses.setdefault(label, Counter())[status] += 1

    def succeeded(self) -> set[str]:
        """Operations that answered 2xx at least once."""
        return {op for op, seen in self.statuses.items() if any(200 <= s < 300 for s in seen)}


class Target:
    """One user on one server, calling with a Bearer token (so no CSRF token is needed)."""

    def __init__(self, base_url: str, verify_email: Callable[[str], None]) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT)
        # API tokens are minted by a logged-in session, not by another token.
        self.browser = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT)
        self.browser.headers["X-CSRF-Token"] = self._register(self.browser, "fuzz")["csrf_token"]
        self.auth = {"Authorization": f"Bearer {self._new_token()['token']}"}
        self.http.headers.update(self.auth)
        # Someone to be a member (registering is slow by design, argon2: once per run), with
        # a verified e-mail so that they can accept invitations.
        self.member = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT)
        member = self._register(self.member, "fuzz-member")
        self.member.headers["X-CSRF-Token"] = member["csrf_token"]
        verify_email(str(member["email"]))
        self.member_email, self.member_id = str(member["email"]), str(member["id"])

    @staticmethod
    def _register(client: httpx.Client, prefix: str) -> dict[str, Any]:
        email = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
        response = client.post(
            f"{API}/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": prefix},
        )
        return Target._created(response)

    def _new_token(self) -> dict[str, Any]:
        return self._created(self.browser.post(f"{API}/auth/tokens", json={"name": "fuzz"}))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._created(self.http.post(path, json=body))

    @staticmethod
    def _created(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def close(self) -> None:
        self.http.close()
        self.browser.close()
        self.member.close()

    def path_ids(self) -> dict[str, str]:
        """Fresh real objects for path parameters, so one operation (a delete, an
        archive) cannot change what the next one finds."""
        pid = self._post(f"{API}/projects", {"name": "Fuzz project"})["id"]
        invitation = self._post(f"{API}/projects/{pid}/invitations", {"email": self.member_email})
        accepted = self.member.post(
            f"{API}/invitations/accept", json={"invitation_id": invitation["id"]}
        )
        assert accepted.status_code == 200, accepted.text
        pending = self._post(
            f"{API}/projects/{pid}/invitations", {"email": f"fuzz-{uuid.uuid4().hex}@example.com"}
        )
        label = self._post(f"{API}/projects/{pid}/labels", {"name": "bug", "color": "#ff0000"})
        task = self._post(f"{API}/projects/{pid}/tasks", {"title": "T", "label_ids": [label["id"]]})
        comment = self._post(f"{API}/tasks/{task['id']}/comments", {"body": "hello"})
        return {
            "project_id": pid,
            "task_id": task["id"],
            "label_id": label["id"],
            "comment_id": comment["id"],
            "user_id": self.member_id,
            "token_id": self._new_token()["id"],
            "invitation_id": pending["id"],
        }

    def load_schema(self) -> schemathesis.BaseSchema:
        """The spec the server itself serves, minus the endless stream."""
        schema = schemathesis.openapi.from_url(f"{self.base_url}/openapi.json")
        schema.config.update(
            base_url=self.base_url, headers=self.auth, request_timeout=REQUEST_TIMEOUT
        )
        return schema.exclude(path=STREAM)


def _server_state_changed_replay(exc: BaseException) -> bool:
    """Hypothesis replayed a sequence and the server's answers made it draw differently."""
    flaky = (FlakyStrategyDefinition, FlakyReplay)
    return isinstance(exc, flaky) or is_inconsistent_replay(exc)


def _describe(exc: BaseException) -> str:
    return (str(exc) or "".join(traceback.format_exception(exc)))[:4000]


# The longest request line the HTTP server reads (llhttp's buffer in httptools).
MAX_REQUEST_TARGET = 65_536


def _request_line_too_long(case: Case) -> bool:
    kwargs = case.as_transport_kwargs(base_url="http://x")
    query = urllib.parse.urlencode(kwargs.get("params") or {}, doseq=True)
    return len(urllib.parse.quote(kwargs["url"], safe=":/%")) + len(query) > MAX_REQUEST_TARGET


def _fuzz_operation(
    target: Target, operation: Operation, mode: GenerationMode, report: Report
) -> None:
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in target.path_ids().items() if k in names}
    checks = POSITIVE_CHECKS if mode.is_positive else NEGATIVE_CHECKS
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed or None)

    @hypothesis.settings(profile())
    @hypothesis.given(case=strategy)
    def run(case: Case) -> None:
        if _request_line_too_long(case):
            # Refused by the HTTP server itself (uvicorn/httptools: 400 before the app),
            # as docs/api.md says; negative data stretched to a limit (a 16 KiB cursor of
            # 4-byte characters, percent-encoded) can get there.
            response = case.call(timeout=REQUEST_TIMEOUT)
            assert response.status_code == 400, response.status_code
        else:
            response = case.call_and_validate(checks=checks, timeout=REQUEST_TIMEOUT)
        report.record(operation.label, response.status_code)

    try:
        run()
    except Unsatisfiable:
        pass  # nothing left to negate once the path is fixed (e.g. GET /tasks/{id})
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is the latter
        report.failures.append(f"{operation.label} [{mode.value}]:\n{_describe(exc)}")


def fuzz_operations(
    base_url: str, mode: GenerationMode, verify_email: Callable[[str], None]
) -> Report:
    """Every operation on its own, with real ids in the path, in one generation mode."""
    report = Report()
    target = Target(base_url, verify_email)
    try:
        for result in target.load_schema().get_all_operations():
            if isinstance(result, Ok):
                _fuzz_operation(target, result.ok(), mode, report)
            else:
                report.failures.append(f"unusable operation in the spec: {result.err()}")
    finally:
        target.close()
    return report


def fuzz_stateful(base_url: str, verify_email: Callable[[str], None]) -> tuple[int, Report]:
    """Sequences along the links schemathesis infers from the spec (create -> read,
    update, delete, ...); the number of links, and what happened."""
    report = Report()
    target = Target(base_url, verify_email)
    try:
        schema = target.load_schema()
        machine = schema.as_state_machine()
        links = schema.statistic.transitions.total

        class Machine(machine):  # type: ignore[misc, valid-type]
            def after_call(self, response: schemathesis.Response, case: Case) -> None:
                report.record(case.operation.label, response.status_code)

            def validate_response(
                self,
                response: schemathesis.Response,
                case: Case,
                additional_checks: Any = None,
                **kwargs: Any,
            ) -> None:
                try:
                    case.validate_response(
                        response, checks=POSITIVE_CHECKS, transport_kwargs=kwargs
                    )
                except (Exception, BaseExceptionGroup) as exc:
                    # Kept now: Hypothesis' replay of a sequence meets other server state
                    # and may report only that ("inconsistent data generation").
                    report.failures.append(f"stateful:\n{_describe(exc)}")
                    raise

        # Sequences need more examples than single calls to get deep. Generate only, as
        # schemathesis' own default: a replayed sequence meets other server state.
        budget = profile()
        settings = hypothesis.settings(
            budget, max_examples=3 * budget.max_examples, phases=[Phase.generate]
        )
        for _session in range(3):
            try:
                Machine.run(settings=settings)
            except (Exception, BaseExceptionGroup) as exc:
                if _server_state_changed_replay(exc) and not report.failures:
                    # What schemathesis' engine does too: go on in a fresh session.
                    continue
                if not report.failures:  # else validate_response has the real one
                    report.failures.append(f"stateful:\n{_describe(exc)}")
            break
    finally:
        target.close()
    return links, report
