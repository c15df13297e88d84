"""Shared pieces of the deployment-file tests: the repo root, the Dockerfile parser and the
settings the image and compose file agree on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskmanager.config import Settings

ROOT = Path(__file__).resolve().parents[2]
APP_IMAGE_ENV = {
    "DATABASE_URL": "postgresql://taskmanager:taskmanager@postgres:5432/taskmanager",
    "REDIS_URL": "redis://redis:6379/0",
}
TUNABLE_ENV = {"COOKIE_SECURE", "ALLOWED_ORIGINS", "LOG_LEVEL"}
SERVE_COMMAND = ["serve", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104


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


def stage(instructions: list[Instruction], index: int) -> list[Instruction]:
    return [i for i in instructions if i.stage == index]


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    return stage(instructions, max(i.stage for i in instructions))


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    found = compose["services"][name]
    assert isinstance(found, dict)
    return found


def setting_names() -> set[str]:
    return {field.upper() for field in Settings.model_fields}
