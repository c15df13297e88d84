"""Fixtures for the deployment-file tests."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.ops.deploy import ROOT, Instruction, parse_dockerfile


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document
