"""The image's entrypoint (`taskmanager ...`) run directly, the way the image runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskmanager.config import Settings
from tests.ops.deploy import (
    Instruction,
    service,
    setting_names,
)

# Boots the image entrypoint with its real waits: run outside the xdist part.
pytestmark = pytest.mark.serial


def _entrypoint() -> Path:
    """The console script the image's ENTRYPOINT runs, from this interpreter's environment."""
    script = Path(sys.executable).parent / "taskmanager"
    assert script.is_file(), f"{script} missing: install the package (pip install -e .)"
    return script


def _embedded_env(data_dir: Path) -> dict[str, str]:
    """The image's default environment: no DATABASE_URL / REDIS_URL, data in DATA_DIR."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in setting_names()}
    env.update({"DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"})
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_entrypoint_help() -> None:
    result = subprocess.run(
        [str(_entrypoint()), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "seed", "openapi"):
        assert command in result.stdout


def test_entrypoint_migrate_serve_healthcheck_and_sigterm(
    tmp_path: Path, dockerfile: list[Instruction], compose: dict[str, Any]
) -> None:
    data_dir = tmp_path / "data"
    env = _embedded_env(data_dir)
    for attempt in range(2):  # migrate is idempotent
        result = subprocess.run(
            [str(_entrypoint()), "migrate"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"migrate #{attempt + 1}:\n{result.stderr}"
        assert "schema is up to date" in result.stderr
    assert (data_dir / "taskmanager.db").is_file()

    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(_entrypoint()), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/health/live"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"serve exited early:\n{log_path.read_text()}"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no 200 from {url}:\n{log_path.read_text()}"
            time.sleep(0.1)

        # The Dockerfile's and the compose file's healthcheck commands, as written.
        docker_check = json.loads(
            next(i.args for i in dockerfile if i.keyword == "HEALTHCHECK").partition("CMD ")[2]
        )
        compose_check = service(compose, "app")["healthcheck"]["test"][1:]
        for argv in (docker_check, compose_check):
            script = argv[2].replace(":8000/", f":{port}/")
            check = subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert check.returncode == 0, check.stderr

        process.send_signal(signal.SIGTERM)
        grace = Settings.model_fields["shutdown_grace_seconds"].default
        code = process.wait(timeout=grace + 15)
        hint = (
            " (killed by the re-raised SIGTERM: uvicorn re-raises a captured signal after a"
            " clean shutdown; `taskmanager serve` must turn that into exit 0)"
            if code == -signal.SIGTERM
            else ""
        )
        assert code == 0, f"exit code {code} after SIGTERM{hint}:\n{log_path.read_text()}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    # Nothing answers any more: the healthcheck now fails.
    stopped = subprocess.run(
        [sys.executable, "-c", docker_check[2].replace(":8000/", f":{port}/")],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert stopped.returncode != 0
