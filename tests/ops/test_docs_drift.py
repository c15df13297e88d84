"""The generated docs (docs/openapi.json, README settings table) match the code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from taskmanager import docs_gen
from taskmanager.config import Settings

ROOT = Path(__file__).resolve().parents[2]
HINT = "run `python -m taskmanager.docs_gen` to regenerate"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command as a developer or CI runs it: a fresh process, settings from nowhere."""
    names = {field.upper() for field in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    return subprocess.run(
        [sys.executable, "-m", "taskmanager.docs_gen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generated_docs_are_up_to_date() -> None:
    result = _run("--check", cwd=ROOT)
    assert result.returncode == 0, (
        f"generated docs are out of date: {HINT}\n{result.stderr.strip()}"
    )


def _fake_repo(tmp_path: Path, readme_body: str) -> Path:
    (tmp_path / "README.md").write_text(
        f"# Task Manager\n\n## Configuration\n\n{docs_gen.START_MARKER}\n{readme_body}"
        f"{docs_gen.END_MARKER}\n\nMore text.\n",
        encoding="utf-8",
    )
    return tmp_path


def test_regenerate_then_check_round_trip(tmp_path: Path) -> None:
    root = _fake_repo(tmp_path, "stale table\n")
    result = _run("--check", cwd=root)
    assert result.returncode == 1
    assert HINT in result.stderr
    assert "docs/openapi.json is missing" in result.stderr
    assert "settings table is out of date" in result.stderr

    result = _run(cwd=root)
    assert result.returncode == 0, result.stderr
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Task Manager\n")
    assert readme.endswith(f"{docs_gen.END_MARKER}\n\nMore text.\n")
    assert "stale table" not in readme
    assert docs_gen.settings_table() in readme
    assert (root / "docs" / "openapi.json").read_text(encoding="utf-8") == docs_gen.openapi_json()

    assert _run("--check", cwd=root).returncode == 0
    assert _run(cwd=root).returncode == 0  # nothing to change: still fine
    assert (root / "README.md").read_text(encoding="utf-8") == readme


def test_check_catches_a_changed_spec(tmp_path: Path) -> None:
    root = _fake_repo(tmp_path, docs_gen.settings_table())
    (root / "docs").mkdir()
    spec = docs_gen.openapi_json().replace('"/health/live"', '"/health/alive"', 1)
    assert spec != docs_gen.openapi_json()
    (root / "docs" / "openapi.json").write_text(spec, encoding="utf-8")
    problems = docs_gen.check(root)
    assert len(problems) == 1
    assert "docs/openapi.json is out of date" in problems[0]
    assert "/health/live" in problems[0]  # names what changed


def test_missing_readme_or_markers_is_a_clear_failure(tmp_path: Path) -> None:
    result = _run("--check", cwd=tmp_path)
    assert result.returncode == 1
    assert "README.md does not exist" in result.stderr

    (tmp_path / "README.md").write_text("# Task Manager\n", encoding="utf-8")
    result = _run(cwd=tmp_path)
    assert result.returncode == 1
    assert docs_gen.START_MARKER in result.stderr
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# Task Manager\n"


def test_settings_table_lists_every_setting() -> None:
    table = docs_gen.settings_table()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(Settings.model_fields)
    for name, field in Settings.model_fields.items():
        row = next(r for r in rows if r.startswith(f"| `{name.upper()}` |"))
        assert (field.description or "").split()[0] in row
        assert row.count(" | ") == 3  # four cells: pipes inside cells are escaped
    assert "| `DATABASE_URL` | str \\| None | *unset* |" in table
    assert "| `COOKIE_SECURE` | bool | `false` |" in table


def test_openapi_matches_the_cli_command() -> None:
    """`taskmanager openapi > docs/openapi.json` and the generator agree byte for byte."""
    names = {field.upper() for field in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    cli = shutil.which("taskmanager", path=str(Path(sys.executable).parent))
    assert cli is not None
    result = subprocess.run(
        [cli, "openapi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == docs_gen.openapi_json()
