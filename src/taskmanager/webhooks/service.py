"""Managing webhook endpoints (admins and owners) and reading their delivery log."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.config import Settings
from taskmanager.db import utcnow
from taskmanager.errors import NotFound, ValidationFailed
from taskmanager.events.service import WEBHOOK_DELIVERY_JOB
from taskmanager.jobs.queue import enqueue
from taskmanager.kit.pagination import PageRequest, SortSpec, paginate
from taskmanager.membership.access import Role, require_role, row_access
from taskmanager.membership.models import Project
from taskmanager.webhooks.addresses import AddressRefused, resolve
from taskmanager.webhooks.models import WebhookDelivery, WebhookEndpoint
from taskmanager.webhooks.schemas import WebhookCreate, WebhookUpdate
from taskmanager.webhooks.signing import encrypt_secret, new_secret

REDELIVERY_JOB = "webhooks.redeliver"
ENDPOINT_SORT = SortSpec(
    "created_at", "created_at", WebhookEndpoint.created_at, WebhookEndpoint.id, "datetime"
)
DELIVERY_SORT = SortSpec(
    "created_at",
    "created_at",
    WebhookDelivery.created_at,
    WebhookDelivery.id,
    "datetime",
    descending=True,
)


class WebhookNotFound(NotFound):
    code = "webhook_not_found"

    def __init__(self) -> None:
        super().__init__("Webhook not found.")


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"

    def __init__(self) -> None:
        super().__init__("Delivery not found.")


async def check_target(url: str, settings: Settings) -> None:
    """422 at `url` when its host resolves to an address webhooks may not reach (checked
    again at every send: DNS can change)."""
    try:
        await resolve(url, allow_private=settings.webhook_allow_private)
    except AddressRefused as exc:
        raise ValidationFailed.field(["body", "url"], f"refused: {exc}") from None


async def _count(session: AsyncSession, project_id: uuid.UUID, delta: int) -> None:
    # projects.webhook_count is what a write reads to know whether to wake deliveries.
    await session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(webhook_count=Project.webhook_count + delta)
        .execution_options(synchronize_session=False)
    )


async def create_webhook(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    data: WebhookCreate,
    settings: Settings,
    server_key: bytes,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (returned this once; stored encrypted). It receives
    the events after the project's current seq."""
    access = await require_role(session, project_id, user_id, minimum=Role.admin, write=True)
    await check_target(data.url, settings)
    now = utcnow()
    endpoint_id = uuid.uuid4()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        project_id=project_id,
        url=data.url,
        description=data.description,
        events=data.events,
        secret_encrypted=encrypt_secret(server_key, secret, endpoint_id=str(endpoint_id)),
        enabled=True,
        cursor_seq=access.project.event_seq,
        created_by=user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    await session.flush()
    await _count(session, project_id, +1)
    return endpoint, secret


async def list_webhooks(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[WebhookEndpoint], str | None]:
    await require_role(session, project_id, user_id, minimum=Role.admin)
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.project_id == project_id)
    return await paginate(
        session, stmt, sort=ENDPOINT_SORT, scope=f"webhooks:{project_id}", page=page
    )


async def get_webhook(
    session: AsyncSession, *, webhook_id: uuid.UUID, user_id: uuid.UUID, write: bool = False
) -> WebhookEndpoint:
    endpoint, _ = await row_access(
        session,
        model=WebhookEndpoint,
        row_id=webhook_id,
        user_id=user_id,
        not_found=WebhookNotFound,
        minimum=Role.admin,
        write=write,
    )
    return endpoint


async def update_webhook(
    session: AsyncSession,
    *,
    webhook_id: uuid.UUID,
    user_id: uuid.UUID,
    data: WebhookUpdate,
    settings: Settings,
) -> WebhookEndpoint:
    """Change url/events/description; `enabled: false` pauses deliveries where they are,
    `enabled: true` resumes them from there (the failing event first)."""
    endpoint = await get_webhook(session, webhook_id=webhook_id, user_id=user_id, write=True)
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] != endpoint.url:
        await check_target(changes["url"], settings)
    enabled = changes.pop("enabled", endpoint.enabled)
    if all(getattr(endpoint, k) == v for k, v in changes.items()) and enabled == endpoint.enabled:
        return endpoint
    for field, value in changes.items():
        setattr(endpoint, field, value)
    if enabled and not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_reason = None
        endpoint.failing_since = None
        endpoint.next_attempt_at = None
        await _count(session, endpoint.project_id, +1)
        # Resume now: whatever piled up while it was off is sent, in order.
        await enqueue(session, WEBHOOK_DELIVERY_JOB, {"endpoint_id": str(endpoint.id)})
    elif not enabled and endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = "manual"
        await _count(session, endpoint.project_id, -1)
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


async def delete_webhook(
    session: AsyncSession, *, webhook_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    endpoint = await get_webhook(session, webhook_id=webhook_id, user_id=user_id, write=True)
    if endpoint.enabled:
        await _count(session, endpoint.project_id, -1)
    await session.delete(endpoint)  # its delivery log goes with it (ON DELETE CASCADE)
    await session.flush()


async def list_deliveries(
    session: AsyncSession, *, webhook_id: uuid.UUID, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[WebhookDelivery], str | None]:
    """The endpoint's delivery log, newest first."""
    endpoint = await get_webhook(session, webhook_id=webhook_id, user_id=user_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    return await paginate(
        session, stmt, sort=DELIVERY_SORT, scope=f"deliveries:{endpoint.id}", page=page
    )


async def redeliver(
    session: AsyncSession, *, webhook_id: uuid.UUID, delivery_id: uuid.UUID, user_id: uuid.UUID
) -> WebhookDelivery:
    """Queue one more send of a delivery (same `webhook-id`); the cursor does not move."""
    endpoint = await get_webhook(session, webhook_id=webhook_id, user_id=user_id, write=True)
    delivery = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id
        )
    )
    if delivery is None:
        raise DeliveryNotFound()
    await enqueue(session, REDELIVERY_JOB, {"delivery_id": str(delivery.id)})
    return delivery
