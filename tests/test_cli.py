"""The `taskmanager` command's own surface: --version and --help with every default."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from taskmanager import __version__
from taskmanager.cli import build_parser


def _taskmanager(*args: str) -> subprocess.CompletedProcess[str]:
    # The installed console script, as a user runs it.
    script = f"{sys.prefix}/bin/taskmanager"
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=60, check=False)


def test_version() -> None:
    result = _taskmanager("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"taskmanager {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_help_lists_every_command_and_where_settings_come_from() -> None:
    result = _taskmanager("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "seed", "openapi", "import", "digest", "--version"):
        assert command in result.stdout
    assert "DATABASE_URL" in result.stdout


@pytest.mark.parametrize("command", ["serve", "migrate", "seed", "openapi"])
def test_every_option_documents_its_default(command: str) -> None:
    result = _taskmanager(command, "--help")
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())
    assert "Settings come from the environment" in help_text
    commands = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    subcommand: argparse.ArgumentParser = commands.choices[command]
    for action in subcommand._actions:
        if action.dest == "help":
            continue
        assert action.help, f"{command} {action.option_strings} has no help text"
        assert f"(default: {action.default})" in help_text, (command, action.option_strings)


def test_serve_help_shows_the_real_defaults() -> None:
    help_text = " ".join(_taskmanager("serve", "--help").stdout.split())
    assert "TCP port to listen on (default: 8000)" in help_text
    assert "(default: 127.0.0.1)" in help_text
    assert "needs DATABASE_URL and REDIS_URL (default: 1)" in help_text


def test_unknown_command_is_a_usage_error() -> None:
    result = _taskmanager("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert result.stdout == ""
