"""docker-compose.yml: services, images, health-checked dependencies, volumes and settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from taskmanager.config import Settings
from tests.ops.deploy import (
    APP_IMAGE_ENV,
    SERVE_COMMAND,
    TUNABLE_ENV,
    service,
    setting_names,
)

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def _interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's `${VAR}` / `${VAR:-default}` substitution."""
    return _VARIABLE.sub(
        lambda m: environ.get(m.group("name")) or (m.group("default") or ""), value
    )


def test_compose_services_and_images(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "app"}
    assert service(compose, "postgres")["image"] == "postgres:15-alpine"
    assert service(compose, "redis")["image"] == "redis:7-alpine"
    app, migrate = service(compose, "app"), service(compose, "migrate")
    assert app["build"] == migrate["build"] == "."
    assert app["image"] == migrate["image"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert app["command"] == SERVE_COMMAND
    assert app["ports"] == ["8000:8000"]
    assert app["restart"] == "unless-stopped"


def test_compose_dependencies_wait_for_health_and_migration(compose: dict[str, Any]) -> None:
    assert service(compose, "migrate")["depends_on"] == {
        "postgres": {"condition": "service_healthy"}
    }
    assert service(compose, "app")["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_compose_healthchecks(compose: dict[str, Any]) -> None:
    postgres = service(compose, "postgres")["healthcheck"]["test"]
    assert postgres[0] == "CMD-SHELL" and postgres[1].startswith("pg_isready")
    assert "-U taskmanager" in postgres[1]
    assert service(compose, "redis")["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    app = service(compose, "app")["healthcheck"]["test"]
    assert app[:3] == ["CMD", "python", "-c"]
    assert "http://127.0.0.1:8000/health/live" in app[3]
    for name in ("postgres", "redis", "app"):
        check = service(compose, name)["healthcheck"]
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_compose_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert service(compose, "postgres")["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert service(compose, "redis")["volumes"] == ["redisdata:/data"]
    used = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
    }
    assert used == declared == {"pgdata", "redisdata"}


def test_compose_environment(compose: dict[str, Any]) -> None:
    postgres_env = service(compose, "postgres")["environment"]
    user, password, db = (
        postgres_env[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    )
    assert APP_IMAGE_ENV["DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    for name in ("app", "migrate"):
        env = service(compose, name)["environment"]
        assert {k: env[k] for k in APP_IMAGE_ENV} == APP_IMAGE_ENV
        for key in TUNABLE_ENV:
            assert re.fullmatch(rf"\$\{{{key}:-[^}}]*\}}", env[key]), f"{name}: {key}={env[key]}"
    # Every variable the compose file sets is a real setting (a typo would be ignored).
    known = {field.upper() for field in Settings.model_fields}
    assert set(service(compose, "app")["environment"]) <= known


def _settings_in_subprocess(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Settings as the container would load them from exactly this environment."""
    code = (
        "import json; from taskmanager.config import Settings; "
        "print(Settings(_env_file=None).model_dump_json())"
    )
    base = {k: v for k, v in os.environ.items() if k.upper() not in setting_names()}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"settings rejected {env}:\n{result.stderr}"
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_compose_environment_is_valid_settings(compose: dict[str, Any], tmp_path: Path) -> None:
    raw = service(compose, "app")["environment"]
    defaults = {k: _interpolate(str(v), {}) for k, v in raw.items()}
    loaded = _settings_in_subprocess(defaults, tmp_path)
    assert loaded["database_url"] == APP_IMAGE_ENV["DATABASE_URL"]
    assert loaded["redis_url"] == APP_IMAGE_ENV["REDIS_URL"]
    assert loaded["cookie_secure"] is False
    assert loaded["allowed_origins"] == []
    assert loaded["log_level"] == "INFO"

    overridden = {
        k: _interpolate(
            str(v),
            {
                "COOKIE_SECURE": "true",
                "LOG_LEVEL": "WARNING",
                "ALLOWED_ORIGINS": '["https://tasks.example.com"]',
            },
        )
        for k, v in raw.items()
    }
    loaded = _settings_in_subprocess(overridden, tmp_path)
    assert loaded["cookie_secure"] is True
    assert loaded["log_level"] == "WARNING"
    assert loaded["allowed_origins"] == ["https://tasks.example.com"]
