"""Shared fixtures: a team whose members have distinct display names (for @mentions)."""

from __future__ import annotations

import pytest

from tests.helpers import API, Team, team, team_users

__all__ = ["named_team", "team", "team_users"]

NAMES = {
    "owner": "Olive Owner",
    "admin": "Ada",
    "member": "Mia",
    "viewer": "Vic",
    "outsider": "Otto",
}


async def rename(team: Team, role: str, name: str) -> None:
    response = await team[role].patch(f"{API}/auth/me", json={"display_name": name})
    assert response.status_code == 200, response.text


@pytest.fixture
async def named_team(team: Team) -> Team:
    """`team` with NAMES as display names, and every earlier notification read."""
    for role, name in NAMES.items():
        await rename(team, role, name)
        response = await team[role].post(f"{API}/notifications/read-all")
        assert response.status_code == 200, response.text
    return team
