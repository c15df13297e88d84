"""The webhook routes on a server with the SSRF guard on (the default): who may use them,
what input is refused (422 at the field), and that the secret is shown once only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import API, Team, assert_problem
from tests.server import RunningServer
from tests.webhooks.logged import logged_delivery

# A public address: allowed. Its filter names an event these projects never have, so the
# shared server never sends anything to it.
PUBLIC = "https://8.8.8.8/hook"
QUIET = ["project.deleted"]


async def _create(team: Team, role: str = "owner", **body: Any) -> Any:
    return await team[role].post(
        f"{API}/projects/{team.project_id}/webhooks", json={"url": PUBLIC, "events": QUIET, **body}
    )


async def test_create_shows_the_secret_once_then_reads_never_do(team: Team) -> None:
    response = await _create(team, "admin", description="Chat")
    assert response.status_code == 201, response.text
    hook = response.json()
    assert hook["secret"].startswith("whsec_")
    assert len(hook["secret"]) > len("whsec_") + 40
    assert hook["enabled"] is True
    assert hook["events"] == QUIET
    assert hook["description"] == "Chat"
    one = await team["owner"].get(f"{API}/webhooks/{hook['id']}")
    assert one.status_code == 200
    assert "secret" not in one.json()
    assert hook["secret"] not in one.text
    listed = await team["owner"].get(f"{API}/projects/{team.project_id}/webhooks")
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()["items"]] == [hook["id"]]
    assert hook["secret"] not in listed.text


async def test_the_list_is_paged(team: Team) -> None:
    ids = [(await _create(team)).json()["id"] for _ in range(3)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await team["owner"].get(f"{API}/projects/{team.project_id}/webhooks", params=params)
        assert page.status_code == 200, page.text
        seen += [h["id"] for h in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_patch_changes_the_filter_and_pauses_then_resumes(team: Team) -> None:
    hook = (await _create(team)).json()
    path = f"{API}/webhooks/{hook['id']}"
    patched = await team["admin"].patch(path, json={"events": ["*"], "enabled": False})
    assert patched.status_code == 200, patched.text
    assert patched.json()["events"] == ["*"]
    assert patched.json()["enabled"] is False
    assert patched.json()["disabled_reason"] == "manual"
    resumed = await team["admin"].patch(path, json={"enabled": True, "events": QUIET})
    assert resumed.json()["enabled"] is True
    assert resumed.json()["disabled_reason"] is None
    deleted = await team["admin"].delete(path)
    assert deleted.status_code == 204
    assert (await team["admin"].get(path)).status_code == 404


async def test_a_delivery_is_reached_only_through_its_own_webhook(
    team: Team, server: RunningServer
) -> None:
    first, second = (await _create(team)).json(), (await _create(team)).json()
    delivery_id = await logged_delivery(server, second["id"])
    log = await team["owner"].get(f"{API}/webhooks/{first['id']}/deliveries")
    assert log.json()["items"] == []
    crossed = await team["owner"].post(
        f"{API}/webhooks/{first['id']}/deliveries/{delivery_id}/redeliver"
    )
    assert_problem(crossed, 404)
    own = await team["owner"].post(
        f"{API}/webhooks/{second['id']}/deliveries/{delivery_id}/redeliver"
    )
    assert own.status_code == 202, own.text
    assert own.json()["message_id"] == f"msg_{uuid.UUID(delivery_id).hex}"


async def test_members_and_viewers_get_403_and_other_teams_404(team: Team) -> None:
    hook = (await _create(team)).json()
    for role in ("member", "viewer"):
        assert_problem(await _create(team, role), 403)
        assert_problem(await team[role].get(f"{API}/webhooks/{hook['id']}"), 403)
        assert_problem(await team[role].get(f"{API}/webhooks/{hook['id']}/deliveries"), 403)
        assert_problem(await team[role].get(f"{API}/projects/{team.project_id}/webhooks"), 403)
    outsider = team["outsider"]
    assert_problem(await _create(team, "outsider"), 404)
    assert_problem(await outsider.get(f"{API}/webhooks/{hook['id']}"), 404)
    assert_problem(await outsider.patch(f"{API}/webhooks/{hook['id']}", json={}), 404)
    assert_problem(await outsider.delete(f"{API}/webhooks/{hook['id']}"), 404)
    assert_problem(
        await outsider.post(f"{API}/webhooks/{hook['id']}/deliveries/{uuid.uuid4()}/redeliver"),
        404,
    )
    assert_problem(await team["owner"].get(f"{API}/webhooks/{uuid.uuid4()}"), 404)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"url": "ftp://8.8.8.8/x", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "https://user:pw@8.8.8.8/x", "events": ["*"]}, "url"),
        ({"url": "https://8.8.8.8:99999/x", "events": ["*"]}, "url"),
        ({"url": PUBLIC, "events": ["task.exploded"]}, "events"),
        ({"url": PUBLIC, "events": ["*", "task.created"]}, "events"),
        ({"url": PUBLIC, "events": []}, "events"),
        ({"url": PUBLIC}, "events"),
        ({"url": PUBLIC, "events": ["*"], "secret": "mine"}, "secret"),
    ],
)
async def test_bad_input_is_a_422_at_the_field(team: Team, body: dict[str, Any], loc: str) -> None:
    response = await team["owner"].post(f"{API}/projects/{team.project_id}/webhooks", json=body)
    problem = assert_problem(response, 422)
    assert any(e["loc"][-1] == loc or loc in e["loc"] for e in problem["errors"]), problem


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00:ec2::254]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://localhost:8000/hook",  # a name that resolves to loopback
        "http://does-not-resolve.invalid/hook",
    ],
)
async def test_non_public_targets_are_refused_at_create_and_patch(team: Team, url: str) -> None:
    created = await team["owner"].post(
        f"{API}/projects/{team.project_id}/webhooks", json={"url": url, "events": ["*"]}
    )
    problem = assert_problem(created, 422)
    assert problem["errors"][0]["loc"] == ["body", "url"]
    hook = (await _create(team)).json()
    patched = await team["owner"].patch(f"{API}/webhooks/{hook['id']}", json={"url": url})
    assert_problem(patched, 422)
    assert (await team["owner"].get(f"{API}/webhooks/{hook['id']}")).json()["url"] == PUBLIC
