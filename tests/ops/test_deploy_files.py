"""Deployment files: the Dockerfile, .dockerignore, docker-compose.yml and the image's command.

There is no Docker engine on our machines, so this checks what can be checked without
one: the files' structure, that they agree with the code and the locks, and that the
image's entrypoint (`taskmanager ...`) works when run directly, the way the image runs it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from taskmanager.config import Settings

ROOT = Path(__file__).resolve().parents[2]
APP_IMAGE_ENV = {
    "DATABASE_URL": "postgresql://taskmanager:taskmanager@postgres:5432/taskmanager",
    "REDIS_URL": "redis://redis:6379/0",
}
TUNABLE_ENV = {"COOKIE_SECURE", "ALLOWED_ORIGINS", "LOG_LEVEL"}
SERVE_COMMAND = ["serve", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104


# --------------------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class Instruction:
    stage: int  # index of the FROM this instruction belongs to
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} should use the exec (JSON) form"
        return [str(item) for item in value]


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue  # comments (and parser directives) are also dropped inside continuations
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(stage, keyword, args.strip()))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def _stage(instructions: list[Instruction], index: int) -> list[Instruction]:
    return [i for i in instructions if i.stage == index]


def _final_stage(instructions: list[Instruction]) -> list[Instruction]:
    return _stage(instructions, max(i.stage for i in instructions))


def test_dockerfile_is_multi_stage_on_python_slim(dockerfile: list[Instruction]) -> None:
    froms = [i.args.split() for i in dockerfile if i.keyword == "FROM"]
    assert len(froms) >= 2, "expected a builder stage and a runtime stage"
    assert [f[0] for f in froms] == ["python:3.11-slim"] * len(froms)
    builder = froms[0]
    assert len(builder) == 3 and builder[1].upper() == "AS", "the first stage should be named"
    builder_name = builder[2]

    runs = " ".join(i.args for i in _stage(dockerfile, 0) if i.keyword == "RUN")
    assert "python -m venv /opt/venv" in runs
    assert re.search(r"pip install --require-hashes .*-r requirements-prod\.lock", runs), runs
    assert "pip install --no-deps ." in runs

    final = _final_stage(dockerfile)
    copies = [i.args.split() for i in final if i.keyword == "COPY"]
    assert [f"--from={builder_name}", "/opt/venv", "/opt/venv"] in copies
    env = " ".join(i.args for i in final if i.keyword == "ENV")
    assert 'PATH="/opt/venv/bin:${PATH}"' in env
    assert "DATA_DIR=/data" in env


def test_dockerfile_runtime_runs_as_non_root_app_user(dockerfile: list[Instruction]) -> None:
    final = _final_stage(dockerfile)
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the runtime stage must switch away from root"
    user = users[-1].split(":")[0]
    assert user in {"app", "10001"}
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    assert re.search(r"useradd .*--uid 10001 .*\bapp\b", runs), runs
    assert "chown app:app /data" in runs
    # USER comes after everything that needs root.
    last_root_step = max(n for n, i in enumerate(final) if i.keyword == "RUN")
    assert next(n for n, i in enumerate(final) if i.keyword == "USER") > last_root_step


def test_dockerfile_healthcheck_entrypoint_cmd(dockerfile: list[Instruction]) -> None:
    final = _final_stage(dockerfile)
    by_keyword = {i.keyword: i for i in final}
    healthcheck = by_keyword["HEALTHCHECK"].args
    options, _, command = healthcheck.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    health_argv = json.loads(command)
    assert health_argv[:2] == ["python", "-c"]
    assert "urllib.request" in health_argv[2]
    assert "http://127.0.0.1:8000/health/live" in health_argv[2]

    assert by_keyword["ENTRYPOINT"].exec_form() == ["taskmanager"]
    assert by_keyword["CMD"].exec_form() == SERVE_COMMAND
    assert by_keyword["EXPOSE"].args == "8000"
    assert by_keyword["VOLUME"].exec_form() == ["/data"]


def _dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule, simplified: the last matching pattern wins; `!` re-includes.

    A pattern matches a path or any of its parent directories; `**/` also matches at depth 0.
    """
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        body = body.rstrip("/")
        forms = [body, body[3:]] if body.startswith("**/") else [body]
        if any(fnmatch.fnmatchcase(c, form) for c in candidates for form in forms):
            excluded = not negated
    return excluded


def test_build_context_holds_what_the_dockerfile_copies(dockerfile: list[Instruction]) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    sources: list[str] = []
    for instruction in dockerfile:
        if instruction.keyword in {"COPY", "ADD"} and "--from=" not in instruction.args:
            sources += shlex.split(instruction.args)[:-1]
    assert {"requirements-prod.lock", "pyproject.toml", "README.md", "src"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not _dockerignore_excludes(patterns, source), f"COPY {source}: in .dockerignore"
    # Every package file (migrations included) reaches the image; caches and tests do not.
    package_files = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "src" / "taskmanager").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert any("migrations/versions/" in f for f in package_files)
    for file in package_files:
        assert not _dockerignore_excludes(patterns, file), f"{file} is left out of the image"
    for file in [
        "tests/conftest.py",
        ".venv/bin/python",
        ".git/HEAD",
        "data/taskmanager.db",
        "src/taskmanager/__pycache__/app.cpython-311.pyc",
        ".env",
    ]:
        assert _dockerignore_excludes(patterns, file), f"{file} would be sent to the build"


def _lock_pins(path: Path) -> dict[str, str]:
    """name -> version of a `uv pip compile --generate-hashes` lock; asserts every pin is hashed."""
    pins: dict[str, str] = {}
    text = path.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\]+)", block)
        if match:
            assert "--hash=sha256:" in block, f"{path.name}: {match.group(1)} has no hash"
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_pins(requirements: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        pins[_canonical(name.split("[")[0])] = version.strip()
    return pins


def test_prod_lock_matches_pyproject_and_dev_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _requirement_pins(project["dependencies"])
    dev_only = _requirement_pins(project["optional-dependencies"]["dev"])
    prod = _lock_pins(ROOT / "requirements-prod.lock")
    full = _lock_pins(ROOT / "requirements.lock")
    regenerate = (
        "regenerate: uv pip compile pyproject.toml --generate-hashes -p 3.11 "
        "-o requirements-prod.lock"
    )
    for name, version in runtime.items():
        assert prod.get(name) == version, (
            f"requirements-prod.lock: {name} is not {version}; {regenerate}"
        )
    for name in ("pytest", "mypy", "ruff", "pytest-asyncio", "types-pyyaml"):
        assert name in dev_only and name not in prod, f"dev tool {name} in the image's lock"
    # Both locks come from one pyproject: the image runs what the tests ran.
    mismatched = {n: (v, full.get(n)) for n, v in prod.items() if full.get(n) != v}
    assert not mismatched, f"prod and dev locks disagree {mismatched}; {regenerate}"


# ------------------------------------------------------------------- docker-compose.yml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def _interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's `${VAR}` / `${VAR:-default}` substitution."""
    return _VARIABLE.sub(
        lambda m: environ.get(m.group("name")) or (m.group("default") or ""), value
    )


def test_compose_services_and_images(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "app"}
    assert _service(compose, "postgres")["image"] == "postgres:15-alpine"
    assert _service(compose, "redis")["image"] == "redis:7-alpine"
    app, migrate = _service(compose, "app"), _service(compose, "migrate")
    assert app["build"] == migrate["build"] == "."
    assert app["image"] == migrate["image"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert app["command"] == SERVE_COMMAND
    assert app["ports"] == ["8000:8000"]
    assert app["restart"] == "unless-stopped"


def test_compose_dependencies_wait_for_health_and_migration(compose: dict[str, Any]) -> None:
    assert _service(compose, "migrate")["depends_on"] == {
        "postgres": {"condition": "service_healthy"}
    }
    assert _service(compose, "app")["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_compose_healthchecks(compose: dict[str, Any]) -> None:
    postgres = _service(compose, "postgres")["healthcheck"]["test"]
    assert postgres[0] == "CMD-SHELL" and postgres[1].startswith("pg_isready")
    assert "-U taskmanager" in postgres[1]
    assert _service(compose, "redis")["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    app = _service(compose, "app")["healthcheck"]["test"]
    assert app[:3] == ["CMD", "python", "-c"]
    assert "http://127.0.0.1:8000/health/live" in app[3]
    for name in ("postgres", "redis", "app"):
        check = _service(compose, name)["healthcheck"]
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_compose_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert _service(compose, "postgres")["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert _service(compose, "redis")["volumes"] == ["redisdata:/data"]
    used = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
    }
    assert used == declared == {"pgdata", "redisdata"}


def test_compose_environment(compose: dict[str, Any]) -> None:
    postgres_env = _service(compose, "postgres")["environment"]
    user, password, db = (
        postgres_env[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    )
    assert APP_IMAGE_ENV["DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    for name in ("app", "migrate"):
        env = _service(compose, name)["environment"]
        assert {k: env[k] for k in APP_IMAGE_ENV} == APP_IMAGE_ENV
        for key in TUNABLE_ENV:
            assert re.fullmatch(rf"\$\{{{key}:-[^}}]*\}}", env[key]), f"{name}: {key}={env[key]}"
    # Every variable the compose file sets is a real setting (a typo would be ignored).
    known = {field.upper() for field in Settings.model_fields}
    assert set(_service(compose, "app")["environment"]) <= known


def _settings_in_subprocess(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Settings as the container would load them from exactly this environment."""
    code = (
        "import json; from taskmanager.config import Settings; "
        "print(Settings(_env_file=None).model_dump_json())"
    )
    base = {k: v for k, v in os.environ.items() if k.upper() not in _setting_names()}
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


def _setting_names() -> set[str]:
    return {field.upper() for field in Settings.model_fields}


def test_compose_environment_is_valid_settings(compose: dict[str, Any], tmp_path: Path) -> None:
    raw = _service(compose, "app")["environment"]
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


# --------------------------------------------------------- the image's command, run directly


def _entrypoint() -> Path:
    """The console script the image's ENTRYPOINT runs, from this interpreter's environment."""
    script = Path(sys.executable).parent / "taskmanager"
    assert script.is_file(), f"{script} missing: install the package (pip install -e .)"
    return script


def _embedded_env(data_dir: Path) -> dict[str, str]:
    """The image's default environment: no DATABASE_URL / REDIS_URL, data in DATA_DIR."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in _setting_names()}
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
        compose_check = _service(compose, "app")["healthcheck"]["test"][1:]
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


# ------------------------------------------------------------ .github/workflows/ci.yml


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
