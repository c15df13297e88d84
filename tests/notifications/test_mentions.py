"""The @mention rule: what the text says, and whom among the project's members it names."""

from __future__ import annotations

from typing import Any

import pytest

from taskmanager.notifications.mentions import Mentions, parse
from tests.helpers import API, Team, create_task
from tests.notifications.conftest import rename
from tests.notifications.helpers import kinds


@pytest.mark.parametrize(
    ("text", "emails", "names"),
    [
        ("no mention", set(), set()),
        ("@Alice", set(), {"alice"}),
        ("hi @alice.b-c, and @Bob.", set(), {"alice.b-c", "bob"}),
        ('ping @"Alice Smith" now', set(), {"alice smith"}),
        ("@Alice@Example.com please", {"alice@example.com"}, set()),
        ("mail bob@example.com or a@b", set(), set()),  # an @ inside a word is no mention
        ("(@Zoë) [@Åsa]", set(), {"zoë", "åsa"}),
        ('@"" @ @"unclosed', set(), set()),
        ("@Alice @alice @ALICE", set(), {"alice"}),
    ],
)
def test_parse(text: str, emails: set[str], names: set[str]) -> None:
    assert parse(text) == Mentions(frozenset(emails), frozenset(names))


def test_parse_caps_the_number_of_mentions() -> None:
    found = parse(" ".join(f"@user{i}" for i in range(500)))
    assert len(found.names) == 50


async def _comment(team: Team, task: dict[str, Any], body: str) -> None:
    response = await team["owner"].post(f"{API}/tasks/{task['id']}/comments", json={"body": body})
    assert response.status_code == 201, response.text


async def test_resolved_against_members_only(named_team: Team) -> None:
    team = named_team
    task = await create_task(team["owner"], team.project_id, "Who")
    await _comment(team, task, f'@"mia" @{team["viewer"].email.upper()} @Otto @Nobody')
    assert await kinds(team["member"]) == ["mentioned"]  # by name, case-insensitively
    assert await kinds(team["viewer"]) == ["mentioned"]  # by e-mail address
    # Otto is a real user, but not a member: never told (nor is anyone for @Nobody).
    assert await kinds(team["outsider"]) == []
    await _comment(team, task, f"@{team['outsider'].email}")
    assert await kinds(team["outsider"]) == []
    # A prefix of a display name is not a mention of it.
    await _comment(team, task, "@Olive @Mi")
    assert await kinds(team["member"]) == ["mentioned"]


async def test_an_ambiguous_name_names_nobody(named_team: Team) -> None:
    team = named_team
    await rename(team, "viewer", "Mia")
    task = await create_task(team["owner"], team.project_id, "Twins")
    await _comment(team, task, "@Mia which of you?")
    assert await kinds(team["member"]) == [] and await kinds(team["viewer"]) == []
    # The e-mail address still tells them apart.
    await _comment(team, task, f"@{team['viewer'].email}")
    assert await kinds(team["member"]) == [] and await kinds(team["viewer"]) == ["mentioned"]
    # A name quoted with spaces works the same way.
    await rename(team, "admin", "Ada Lovelace")
    await _comment(team, task, '@"ada lovelace"')
    assert await kinds(team["admin"]) == ["mentioned"]
