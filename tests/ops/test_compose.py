"""docker-compose.yml and .env.example: services, one image, health-checked dependencies,
volumes, loopback-only port and settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.ops.deploy import (
    APP_IMAGE_ENV,
    ROOT,
    SERVE_COMMAND,
    TUNABLE_ENV,
    service,
    setting_names,
)


def test_compose_services_and_images(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "app"}
    assert service(compose, "postgres")["image"] == "postgres:15-alpine"
    assert service(compose, "redis")["image"] == "redis:7-alpine"
    app, migrate = service(compose, "app"), service(compose, "migrate")
    # One build: the app service builds the image, migrate runs that same image.
    assert app["build"] == "."
    assert "build" not in migrate
    assert app["image"] == migrate["image"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert app["command"] == SERVE_COMMAND
    assert app["restart"] == "unless-stopped"


def test_compose_publishes_only_on_loopback(compose: dict[str, Any]) -> None:
    """/metrics (and the rest) is not on the public network; a proxy on the host fronts it."""
    assert service(compose, "app")["ports"] == ["127.0.0.1:8000:8000"]
    for name in ("postgres", "redis", "migrate"):
        assert "ports" not in service(compose, name), name


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


def _env_example() -> dict[str, str]:
    """.env.example as compose reads an env file: KEY=value lines, # comments."""
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=value: {line!r}"
            values[key.strip()] = value
    return values


def test_compose_environment(compose: dict[str, Any]) -> None:
    postgres_env = service(compose, "postgres")["environment"]
    user, password, db = (
        postgres_env[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    )
    assert APP_IMAGE_ENV["DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    for name in ("app", "migrate"):
        # Only the bundled services' addresses are fixed; every other setting is in .env.
        assert service(compose, name)["environment"] == APP_IMAGE_ENV, name
        assert service(compose, name)["env_file"] == ".env", name


def test_env_example_documents_real_settings() -> None:
    example = _env_example()
    # A typo would be silently ignored by the service: every key is a real setting.
    assert set(example) <= setting_names()
    assert {*TUNABLE_ENV, "METRICS_TOKEN", "SHUTDOWN_GRACE_SECONDS"} <= set(example)
    assert not set(example) & set(APP_IMAGE_ENV), "set in docker-compose.yml, not .env"


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
    """The container's environment: .env (a copy of the example), then `environment:`."""
    environment = {k: str(v) for k, v in service(compose, "app")["environment"].items()}
    loaded = _settings_in_subprocess({**_env_example(), **environment}, tmp_path)
    assert loaded["database_url"] == APP_IMAGE_ENV["DATABASE_URL"]
    assert loaded["redis_url"] == APP_IMAGE_ENV["REDIS_URL"]
    assert loaded["cookie_secure"] is False
    assert loaded["allowed_origins"] == []
    assert loaded["log_level"] == "INFO"
    assert loaded["metrics_token"] is None  # empty until the operator sets one

    edited = {
        **_env_example(),
        "COOKIE_SECURE": "true",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_ORIGINS": '["https://tasks.example.com"]',
        "METRICS_TOKEN": "a-long-enough-metrics-token",
    }
    loaded = _settings_in_subprocess({**edited, **environment}, tmp_path)
    assert loaded["cookie_secure"] is True
    assert loaded["log_level"] == "WARNING"
    assert loaded["allowed_origins"] == ["https://tasks.example.com"]
    assert loaded["metrics_token"] is not None
