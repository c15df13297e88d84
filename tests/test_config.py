"""Configuration: parsed from the environment; bad values exit 2 with one line each."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from taskmanager.config import Settings


def _run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    return subprocess.run(
        [sys.executable, "-m", "taskmanager.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_configuration_exits_2_with_one_line_per_variable() -> None:
    result = _run_cli(
        {
            "DATABASE_URL": "mysql://nope",
            "SESSION_IDLE_TIMEOUT_SECONDS": "soon",
            "LOG_LEVEL": "LOUD",
            "ALLOWED_ORIGINS": "[not json",
        },
        "migrate",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    named = {line.split(":", 1)[0] for line in lines}
    assert named == {"DATABASE_URL", "SESSION_IDLE_TIMEOUT_SECONDS", "LOG_LEVEL", "ALLOWED_ORIGINS"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", []),
        ("https://a.example, https://b.example/", ["https://a.example", "https://b.example"]),
        ('["https://c.example"]', ["https://c.example"]),
    ],
)
def test_allowed_origins_forms(
    raw: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", raw)
    assert Settings(_env_file=None).allowed_origins == expected


def test_defaults_are_the_embedded_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.embedded
    assert settings.is_sqlite
    assert settings.session_idle_timeout_seconds == 24 * 3600
    assert settings.session_absolute_timeout_seconds == 7 * 24 * 3600
    assert settings.max_body_bytes == 1024 * 1024
    postgres = Settings(_env_file=None, database_url="postgresql://u@h/db", redis_url="redis://h")
    assert postgres.sqlalchemy_url == "postgresql+asyncpg://u@h/db"
    assert not postgres.embedded
