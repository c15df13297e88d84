"""The Dockerfile, .dockerignore and the locks the image installs from (no Docker engine here:
the files' structure and their agreement with the code and the locks)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path

from tests.ops.deploy import (
    ROOT,
    SERVE_COMMAND,
    Instruction,
    final_stage,
    stage,
)


def test_dockerfile_is_multi_stage_on_python_slim(dockerfile: list[Instruction]) -> None:
    froms = [i.args.split() for i in dockerfile if i.keyword == "FROM"]
    assert len(froms) >= 2, "expected a builder stage and a runtime stage"
    assert [f[0] for f in froms] == ["python:3.11-slim"] * len(froms)
    builder = froms[0]
    assert len(builder) == 3 and builder[1].upper() == "AS", "the first stage should be named"
    builder_name = builder[2]

    runs = " ".join(i.args for i in stage(dockerfile, 0) if i.keyword == "RUN")
    assert "python -m venv /opt/venv" in runs
    assert re.search(r"pip install --require-hashes .*-r requirements-prod\.lock", runs), runs
    assert "pip install --no-deps ." in runs

    final = final_stage(dockerfile)
    copies = [i.args.split() for i in final if i.keyword == "COPY"]
    assert [f"--from={builder_name}", "/opt/venv", "/opt/venv"] in copies
    env = " ".join(i.args for i in final if i.keyword == "ENV")
    assert 'PATH="/opt/venv/bin:${PATH}"' in env
    assert "DATA_DIR=/data" in env


def test_dockerfile_runtime_runs_as_non_root_app_user(dockerfile: list[Instruction]) -> None:
    final = final_stage(dockerfile)
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
    final = final_stage(dockerfile)
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
