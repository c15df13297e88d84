"""The GitHub Actions workflow runs the same checks and both backends."""

from __future__ import annotations

import yaml

from tests.ops.deploy import (
    ROOT,
)


def test_ci_workflow_runs_the_checks_on_both_backends() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = workflow["jobs"].values()
    assert job["services"]["postgres"]["image"] == "postgres:15"
    assert job["services"]["postgres"]["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert "--health-cmd" in job["services"]["postgres"]["options"]
    assert job["services"]["redis"]["image"] == "redis:7"
    assert job["env"]["TM_TEST_PG_URL"] == "postgresql://postgres@127.0.0.1:5432/postgres"
    assert job["env"]["TM_TEST_REDIS_URL"] == "redis://127.0.0.1:6379/15"
    steps = job["steps"]
    python = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    script = "\n".join(str(s.get("run", "")) for s in steps)
    for command in (
        "pip install --quiet --require-hashes -r requirements.lock",
        ".venv/bin/ruff check src tests",
        ".venv/bin/ruff format --check src tests",
        ".venv/bin/mypy",
        "python -m taskmanager.docs_gen --check",
    ):
        assert command in script, command
    backends = [
        s.get("env", {}).get("TM_TEST_BACKEND") for s in steps if "pytest" in s.get("run", "")
    ]
    assert backends == ["embedded", "postgres"]
