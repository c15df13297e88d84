"""Invitations: the only way into a project. Mail via the outbox of the test server."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from taskmanager.invitations.models import Invitation
from tests.helpers import (
    API,
    ApiClient,
    Team,
    assert_problem,
    events,
    expect_statuses,
    invite,
    last_seq,
    team,
    team_users,
    unique_email,
    verify_email,
)
from tests.mailbox import Mailbox, link_token
from tests.server import RunningServer

__all__ = ["team", "team_users"]
ACCEPT = f"{API}/invitations/accept"


@pytest.fixture(scope="module")
def mailbox(server: RunningServer) -> Mailbox:
    return Mailbox(outbox=server.settings.outbox_dir)


@pytest.fixture
async def newcomer(server: RunningServer) -> AsyncIterator[ApiClient]:
    async with ApiClient(base_url=server.base_url, timeout=30) as c:
        await c.register()
        yield c


async def _token(mailbox: Mailbox, email: str, *, count: int = 1) -> str:
    page, token = link_token(await mailbox.wait_for(email, "invited you", count=count))
    assert page.endswith("/invitations")
    return token


async def _roles(team: Team) -> dict[str, str]:
    members = (await team["owner"].get(f"{API}/projects/{team.project_id}/members")).json()
    return {m["user"]["id"]: m["role"] for m in members}


async def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(
    team: Team, newcomer: ApiClient
) -> None:
    answers = [
        await team["admin"].post(
            f"{API}/projects/{team.project_id}/invitations",
            json={"email": email, "role": "member"},
        )
        for email in (newcomer.email, unique_email("nobody"))
    ]
    assert [a.status_code for a in answers] == [201, 201]
    shapes = [{k: v for k, v in a.json().items() if k not in {"id", "email"}} for a in answers]
    for shape in shapes:
        shape.pop("created_at")
        shape.pop("expires_at")
    assert shapes[0] == shapes[1]
    body = answers[0].json()
    assert (body["status"], body["role"], body["project_name"]) == (
        "pending",
        "member",
        "Team project",
    )
    expires = dt.datetime.fromisoformat(body["expires_at"])
    created = dt.datetime.fromisoformat(body["created_at"])
    assert expires - created == dt.timedelta(days=7)
    assert body["invited_by"] == team.user_id("admin")


async def test_who_may_invite(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/invitations"
    seq = await last_seq(team["owner"], team.project_id)
    await expect_statuses(
        team,
        {"member": 403, "viewer": 403, "outsider": 404, "anonymous": 401},
        lambda c, _r: c.post(url, json={"email": unique_email(), "role": "member"}),
    )
    admin_grant = await team["admin"].post(url, json={"email": unique_email(), "role": "admin"})
    assert_problem(admin_grant, 403)
    owner_grant = await team["owner"].post(url, json={"email": unique_email(), "role": "admin"})
    assert owner_grant.status_code == 201
    for body, field in (
        ({"email": "not-an-email", "role": "member"}, "email"),
        ({"email": "a@example.com", "role": "owner"}, "role"),
        ({"role": "member"}, "email"),
        ({"email": "a@example.com", "user_id": "x"}, "user_id"),
    ):
        assert_problem(await team["owner"].post(url, json=body), 422, field=field)
    await expect_statuses(
        team,
        {"owner": 200, "admin": 200, "member": 403, "viewer": 403, "outsider": 404},
        lambda c, _r: c.get(url),
    )
    assert await last_seq(team["owner"], team.project_id) == seq  # inviting is no event


async def test_accepting_with_the_mailed_link_makes_a_member_with_an_event(
    team: Team, newcomer: ApiClient, mailbox: Mailbox
) -> None:
    await invite(team["owner"], team.project_id, newcomer.email.upper(), "viewer")
    token = await _token(mailbox, newcomer.email)
    # Not verified yet: refused, nothing changes.
    assert assert_problem(await newcomer.post(ACCEPT, json={"token": token}), 403)["code"] == (
        "not_invitee"
    )
    assert (await newcomer.get(f"{API}/invitations")).json() == []
    await verify_email(newcomer)
    [mine] = (await newcomer.get(f"{API}/invitations")).json()
    assert (mine["project_id"], mine["role"]) == (team.project_id, "viewer")

    seq = await last_seq(team["owner"], team.project_id)
    response = await newcomer.post(ACCEPT, json={"token": token}, headers={"X-Request-ID": "acc"})
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "viewer"
    assert response.json()["user"]["id"] == newcomer.user["id"]
    [event] = await events(team["owner"], team.project_id, seq)
    assert (event["name"], event["request_id"], event["data"]) == (
        "member.added",
        "acc",
        response.json(),
    )
    projects = (await newcomer.get(f"{API}/projects")).json()["items"]
    assert [p["id"] for p in projects] == [team.project_id]
    again = await newcomer.post(ACCEPT, json={"token": token})
    assert assert_problem(again, 400)["code"] == "invalid_token"
    assert (await newcomer.get(f"{API}/invitations")).json() == []


async def test_another_accounts_invitation_cannot_be_accepted(
    team: Team, newcomer: ApiClient, mailbox: Mailbox
) -> None:
    invited = unique_email("invited")
    invitation = await invite(team["owner"], team.project_id, invited, "member")
    token = await _token(mailbox, invited)
    await verify_email(newcomer)
    seq = await last_seq(team["owner"], team.project_id)
    for body in ({"token": token}, {"invitation_id": invitation["id"]}):
        response = await newcomer.post(ACCEPT, json=body)
        assert assert_problem(response, 403)["code"] == "not_invitee"
    declined = await newcomer.post(f"{API}/invitations/{invitation['id']}/decline")
    assert_problem(declined, 403)
    assert await last_seq(team["owner"], team.project_id) == seq
    assert newcomer.user["id"] not in await _roles(team)
    # The real invitee, registering later with that address, still can.
    async with ApiClient(base_url=str(newcomer.base_url), timeout=30) as late:
        await late.register(invited)
        await verify_email(late)
        assert (await late.post(ACCEPT, json={"token": token})).status_code == 200


async def test_bad_tokens_and_bodies(newcomer: ApiClient) -> None:
    for body in ({"token": "forged"}, {"token": "x" * 43}):
        assert assert_problem(await newcomer.post(ACCEPT, json=body), 400)["code"] == (
            "invalid_token"
        )
    missing = await newcomer.post(ACCEPT, json={"invitation_id": str(uuid.uuid4())})
    assert assert_problem(missing, 404)["code"] == "invitation_not_found"
    for body in ({}, {"token": "a", "invitation_id": str(uuid.uuid4())}, {"invitation_id": "x"}):
        assert_problem(await newcomer.post(ACCEPT, json=body), 422)


async def test_decline_revoke_and_replace(
    team: Team, newcomer: ApiClient, mailbox: Mailbox
) -> None:
    await verify_email(newcomer)
    first = await invite(team["admin"], team.project_id, newcomer.email, "member")
    declined = await newcomer.post(f"{API}/invitations/{first['id']}/decline")
    assert declined.status_code == 204
    closed = await newcomer.post(ACCEPT, json={"invitation_id": first["id"]})
    assert assert_problem(closed, 409)["code"] == "invitation_closed"

    second = await invite(team["admin"], team.project_id, newcomer.email, "member")
    revoke = f"{API}/invitations/{second['id']}"
    await expect_statuses(
        team,
        {"member": 403, "viewer": 403, "outsider": 404, "anonymous": 401},
        lambda c, _r: c.delete(revoke),
    )
    assert (await team["admin"].delete(revoke)).status_code == 204
    assert_problem(await team["admin"].delete(revoke), 409)
    closed = await newcomer.post(ACCEPT, json={"invitation_id": second["id"]})
    assert_problem(closed, 409)

    # A newer invitation of the same address replaces the pending one (and its link).
    third = await invite(team["owner"], team.project_id, newcomer.email, "member")
    old_token = await _token(mailbox, newcomer.email, count=1)
    fourth = await invite(team["owner"], team.project_id, newcomer.email, "viewer")
    listed = (await team["owner"].get(f"{API}/projects/{team.project_id}/invitations")).json()
    assert fourth["id"] in [i["id"] for i in listed]
    assert third["id"] not in [i["id"] for i in listed]
    stale = await newcomer.post(ACCEPT, json={"token": old_token})
    assert_problem(stale, 400)
    accepted = await newcomer.post(ACCEPT, json={"invitation_id": fourth["id"]})
    assert accepted.json()["role"] == "viewer"
    member_again = await invite(team["owner"], team.project_id, newcomer.email, "member")
    dup = await newcomer.post(ACCEPT, json={"invitation_id": member_again["id"]})
    assert assert_problem(dup, 409)["code"] == "member_exists"


async def test_an_expired_invitation_cannot_be_answered(
    server: RunningServer, team: Team, newcomer: ApiClient, mailbox: Mailbox
) -> None:
    await verify_email(newcomer)
    invitation = await invite(team["owner"], team.project_id, newcomer.email, "member")
    token = await _token(mailbox, newcomer.email)
    async with server.resources.session_factory() as db:
        await db.execute(
            update(Invitation)
            .where(Invitation.id == uuid.UUID(invitation["id"]))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        await db.commit()
    assert (await newcomer.get(f"{API}/invitations")).json() == []
    listed: list[dict[str, Any]] = (
        await team["owner"].get(f"{API}/projects/{team.project_id}/invitations")
    ).json()
    assert invitation["id"] not in [i["id"] for i in listed]
    assert_problem(await newcomer.post(ACCEPT, json={"token": token}), 400)
    by_id = await newcomer.post(ACCEPT, json={"invitation_id": invitation["id"]})
    assert "expired" in assert_problem(by_id, 409)["detail"]
    assert_problem(await team["owner"].delete(f"{API}/invitations/{invitation['id']}"), 409)
