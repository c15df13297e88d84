"""The delivery jobs: each endpoint's events after its cursor, in seq order, at least once.

Deliveries are derived from the durable event log, not queued one by one: an endpoint keeps
`cursor_seq`, the last event it has handled. A write in a project with enabled endpoints
enqueues one `webhooks.deliver` job in its own transaction (events/service.py); the job
claims the project's endpoints that have events after their cursor, and sends them one at
a time. The claim is a lease on the endpoint row held by the job's id (FOR UPDATE SKIP
LOCKED on PostgreSQL, SQLite has one writer), so one sender per endpoint runs at a time
across instances; the HTTP request runs outside any transaction. A job whose process dies
keeps its job row and its id, so when the job worker takes it again it takes its endpoints
back, and the event in flight is sent again (same `webhook-id`): nothing is lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.events.models import Event
from taskmanager.events.service import WEBHOOK_DELIVERY_JOB, event_to_message, read_events
from taskmanager.jobs.queue import enqueue
from taskmanager.jobs.registry import JobContext, handler
from taskmanager.kit.signing import load_secret_key
from taskmanager.membership.access import Role
from taskmanager.membership.models import Membership, Project
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.service import notify
from taskmanager.state import Resources
from taskmanager.uow import unit_of_work
from taskmanager.webhooks.models import FAILED, SUCCEEDED, WebhookDelivery, WebhookEndpoint
from taskmanager.webhooks.schemas import message_id
from taskmanager.webhooks.sender import Outcome, client, send
from taskmanager.webhooks.service import REDELIVERY_JOB
from taskmanager.webhooks.signing import decrypt_secret, signed_headers

BATCH = 50
BACKOFF_CAP_SECONDS = 3600.0
_rng = random.Random()  # noqa: S311 (jitter, not a secret)


@dataclass(frozen=True, slots=True)
class Claim:
    id: uuid.UUID
    project_id: uuid.UUID
    url: str
    events: list[str]
    secret_encrypted: str
    cursor_seq: int


class Next(enum.Enum):
    CONTINUE = "continue"
    STOP = "stop"


def delivery_id(endpoint_id: uuid.UUID, seq: int) -> uuid.UUID:
    return uuid.uuid5(endpoint_id, str(seq))


def backoff(attempts: int, base: float) -> dt.timedelta:
    """base * 2^(n-1), capped at an hour, with equal jitter (half to all of it): retries of
    endpoints that failed together spread out."""
    ceiling = min(BACKOFF_CAP_SECONDS, base * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=_rng.uniform(ceiling / 2, ceiling))


def matches(events: list[str], name: str) -> bool:
    return events == ["*"] or name in events


def _server_key(resources: Resources) -> bytes:
    return resources.secret_key or load_secret_key(resources.settings)


@handler(WEBHOOK_DELIVERY_JOB)
async def deliver(context: JobContext, payload: dict[str, Any]) -> None:
    """Send what is due to the endpoints named by `payload` (`project_id`: all of that
    project's; `endpoint_id`: one, e.g. its retry or its re-enabling)."""
    owner = context.job_id
    claims = await _claim(context.resources, owner, payload)
    await asyncio.gather(*(_run(context.resources, owner, claim) for claim in claims))


async def _claim(resources: Resources, owner: str, payload: dict[str, Any]) -> list[Claim]:
    """Lease the named endpoints that are enabled, due and have events after their cursor;
    an endpoint already leased by another job is left to it."""
    now = utcnow()
    project_seq = (
        select(Project.event_seq).where(Project.id == WebhookEndpoint.project_id)
    ).scalar_subquery()
    due = select(WebhookEndpoint.id).where(
        WebhookEndpoint.enabled,
        WebhookEndpoint.cursor_seq < project_seq,
        or_(WebhookEndpoint.next_attempt_at.is_(None), WebhookEndpoint.next_attempt_at <= now),
        or_(
            WebhookEndpoint.lease_until.is_(None),
            WebhookEndpoint.lease_until < now,
            WebhookEndpoint.lease_owner == owner,  # our own lease, from before a crash
        ),
    )
    if "endpoint_id" in payload:
        due = due.where(WebhookEndpoint.id == uuid.UUID(payload["endpoint_id"]))
    else:
        due = due.where(WebhookEndpoint.project_id == uuid.UUID(payload["project_id"]))
    lease = dt.timedelta(seconds=resources.settings.job_lease_seconds)
    stmt = (
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_(due.with_for_update(skip_locked=True).scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(
            WebhookEndpoint.id,
            WebhookEndpoint.project_id,
            WebhookEndpoint.url,
            WebhookEndpoint.events,
            WebhookEndpoint.secret_encrypted,
            WebhookEndpoint.cursor_seq,
        )
        .execution_options(synchronize_session=False)
    )
    async with unit_of_work(resources) as uow:
        rows = (await uow.session.execute(stmt)).all()
    return [Claim(*row) for row in rows]


async def _run(resources: Resources, owner: str, claim: Claim) -> None:
    """Send the endpoint's events in seq order until it is caught up, an attempt fails, or
    the job's time is up (then a follow-up job carries on, so no job outlives its lease)."""
    started = time.monotonic()
    secret = decrypt_secret(
        _server_key(resources), claim.secret_encrypted, endpoint_id=str(claim.id)
    )
    current: Claim | None = claim
    cursor = claim.cursor_seq
    while current is not None:
        url = current.url
        # One client (keep-alive) per URL: a PATCHed URL gets fresh connections.
        async with client(resources.settings.webhook_timeout_seconds) as http:
            while current is not None and current.url == url:
                current, cursor = await _next_round(
                    resources, owner, current, cursor, secret, http, started
                )


async def _next_round(
    resources: Resources,
    owner: str,
    claim: Claim,
    cursor: int,
    secret: str,
    http: httpx.AsyncClient,
    started: float,
) -> tuple[Claim | None, int]:
    """Send one batch of events after `cursor`; the claim and cursor to go on with (None:
    stop, the endpoint is caught up, failing, handed over or taken by another job)."""
    settings = resources.settings
    budget = settings.job_lease_seconds - 2 * settings.webhook_timeout_seconds
    async with resources.session_factory() as session:
        events = await read_events(
            session, project_id=claim.project_id, after_seq=cursor, limit=BATCH
        )
    if not events:
        if not await _release(resources, owner, claim.id, cursor):
            return None, cursor
        claims = await _claim(resources, owner, {"endpoint_id": str(claim.id)})
        if not claims:
            return None, cursor  # another job has it now, or nothing is due
        return claims[0], claims[0].cursor_seq
    for event in events:
        if not matches(claim.events, event.name):
            cursor = event.seq
            continue
        outcome = await _attempt(resources, claim, secret, event, http)
        if await _record(resources, owner, claim, event, outcome, cursor) is Next.STOP:
            return None, cursor
        cursor = event.seq
        if time.monotonic() - started > budget:
            await _release(resources, owner, claim.id, cursor, follow_up=True)
            return None, cursor
    return claim, cursor


async def _attempt(
    resources: Resources,
    endpoint: Claim | WebhookEndpoint,
    secret: str,
    event: Event,
    http: httpx.AsyncClient,
) -> Outcome:
    settings = resources.settings
    body = event_to_message(event)
    headers = signed_headers(
        secret,
        message_id=message_id(delivery_id(endpoint.id, event.seq)),
        body=body.decode(),
        now=utcnow(),
    )
    return await send(
        endpoint.url,
        body=body,
        headers=headers,
        timeout=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_allow_private,
        http=http,
    )


async def _release(
    resources: Resources,
    owner: str,
    endpoint_id: uuid.UUID,
    cursor: int,
    *,
    follow_up: bool = False,
) -> bool:
    """Store the cursor and give the lease up; True when events arrived meanwhile (their
    job may have found the endpoint leased by us and left them to us)."""
    async with unit_of_work(resources) as uow:
        session = uow.session
        released = await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_owner == owner)
            .values(cursor_seq=cursor, lease_owner=None, lease_until=None)
            .returning(WebhookEndpoint.enabled, WebhookEndpoint.project_id)
            .execution_options(synchronize_session=False)
        )
        row = released.first()
        if row is None or not row.enabled:
            return False
        if follow_up:
            await enqueue(session, WEBHOOK_DELIVERY_JOB, {"endpoint_id": str(endpoint_id)})
            return False
        latest = await session.scalar(select(Project.event_seq).where(Project.id == row.project_id))
    return latest is not None and latest > cursor


async def _record(
    resources: Resources, owner: str, claim: Claim, event: Event, outcome: Outcome, cursor: int
) -> Next:
    """Log the attempt and move the endpoint on: the cursor past the event on success; on
    failure a retry time (Retry-After, else backoff), or disabled on 410 or after a day of
    failures. `cursor` is where the endpoint stands before this event."""
    settings = resources.settings
    async with unit_of_work(resources) as uow:
        session = uow.session
        now = utcnow()
        delivery = await _log_attempt(session, claim.id, event, outcome, now)
        if outcome.ok:
            moved = await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == claim.id, WebhookEndpoint.lease_owner == owner)
                .values(
                    cursor_seq=event.seq,
                    failing_since=None,
                    next_attempt_at=None,
                    lease_until=now + dt.timedelta(seconds=settings.job_lease_seconds),
                )
                .returning(WebhookEndpoint.enabled)
                .execution_options(synchronize_session=False)
            )
            enabled = moved.scalar()
            if enabled is False:
                # Disabled while the attempt ran: stop here, and let go, so that enabling
                # it again (which wakes a job of its own) finds the endpoint free.
                await session.execute(
                    update(WebhookEndpoint)
                    .where(WebhookEndpoint.id == claim.id)
                    .values(lease_owner=None, lease_until=None)
                    .execution_options(synchronize_session=False)
                )
            return Next.CONTINUE if enabled else Next.STOP
        endpoint = await session.scalar(
            select(WebhookEndpoint).where(
                WebhookEndpoint.id == claim.id, WebhookEndpoint.lease_owner == owner
            )
        )
        if endpoint is None:
            return Next.STOP  # deleted, or the lease was lost: the new holder goes on
        endpoint.cursor_seq = cursor
        endpoint.lease_owner = endpoint.lease_until = None
        endpoint.failing_since = endpoint.failing_since or now
        failing_for = (now - endpoint.failing_since).total_seconds()
        if not endpoint.enabled:
            return Next.STOP
        if outcome.status == 410 or failing_for >= settings.webhook_disable_after_seconds:
            await _disable(session, endpoint, reason="gone" if outcome.status == 410 else "failing")
            return Next.STOP
        base = settings.webhook_retry_base_seconds
        delay = outcome.retry_after or backoff(delivery.attempts, base)
        endpoint.next_attempt_at = delivery.next_attempt_at = now + delay
        await enqueue(session, WEBHOOK_DELIVERY_JOB, {"endpoint_id": str(claim.id)}, delay=delay)
    return Next.STOP


async def _log_attempt(
    session: AsyncSession, endpoint_id: uuid.UUID, event: Event, outcome: Outcome, now: dt.datetime
) -> WebhookDelivery:
    did = delivery_id(endpoint_id, event.seq)
    delivery = await session.get(WebhookDelivery, did)
    if delivery is None:
        delivery = WebhookDelivery(
            id=did,
            endpoint_id=endpoint_id,
            event_seq=event.seq,
            event_name=event.name,
            attempts=0,
            created_at=now,
        )
        session.add(delivery)
    _apply(delivery, outcome, now)
    delivery.next_attempt_at = None
    await session.flush()
    return delivery


def _apply(delivery: WebhookDelivery, outcome: Outcome, now: dt.datetime) -> None:
    delivery.attempts += 1
    delivery.status = SUCCEEDED if outcome.ok else FAILED
    delivery.response_status = outcome.status
    delivery.duration_ms = outcome.duration_ms
    delivery.response_body = outcome.body
    delivery.error = outcome.error
    delivery.last_attempt_at = now


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Stop the endpoint where it is (re-enabling resumes from the failing event) and tell
    the project's owner and admins."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.next_attempt_at = None
    endpoint.updated_at = utcnow()
    await session.execute(
        update(Project)
        .where(Project.id == endpoint.project_id)
        .values(webhook_count=Project.webhook_count - 1)
        .execution_options(synchronize_session=False)
    )
    admins = await session.scalars(
        select(Membership.user_id).where(
            Membership.project_id == endpoint.project_id,
            Membership.role.in_([Role.owner.value, Role.admin.value]),
        )
    )
    await notify(
        session,
        recipients=list(admins),
        kind=NotificationKind.WEBHOOK_DISABLED,
        actor_id=None,
        project_id=endpoint.project_id,
        data={"webhook_id": str(endpoint.id), "url": endpoint.url, "reason": reason},
    )


@handler(REDELIVERY_JOB)
async def redeliver(context: JobContext, payload: dict[str, Any]) -> None:
    """Send one logged delivery again, as asked by an admin; the cursor and the retry
    schedule are left as they are."""
    resources = context.resources
    did = uuid.UUID(payload["delivery_id"])
    async with resources.session_factory() as session:
        row = (
            await session.execute(
                select(WebhookDelivery, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id == did)
            )
        ).first()
        if row is None:
            return  # the endpoint was deleted since
        delivery, endpoint = row
        event = await session.get(Event, (endpoint.project_id, delivery.event_seq))
    if event is None:
        outcome = Outcome(None, 0, None, "the event is no longer in the log", None)
    else:
        secret = decrypt_secret(
            _server_key(resources), endpoint.secret_encrypted, endpoint_id=str(endpoint.id)
        )
        async with client(resources.settings.webhook_timeout_seconds) as http:
            outcome = await _attempt(resources, endpoint, secret, event, http)
    async with unit_of_work(resources) as uow:
        logged = await uow.session.get(WebhookDelivery, did)
        if logged is not None:
            _apply(logged, outcome, utcnow())
