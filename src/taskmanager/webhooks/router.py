"""HTTP routes of webhooks and their delivery log (the project's admins and owner)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.kit.pagination import Page, PageDep
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems
from taskmanager.middleware.idempotency import withhold_from_replay
from taskmanager.state import ResourcesDep
from taskmanager.webhooks import service
from taskmanager.webhooks.schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(tags=["webhooks"], responses=problems(*AUTHENTICATED))
REFUSED = {422: "Also: the URL's host resolves to a non-public address (SSRF guard)"}


@router.post(
    "/projects/{project_id}/webhooks",
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook (admin+); the signing secret is in this response only",
    responses=problems(*JSON_BODY, 403, 404, 409, notes=REFUSED),
    # The answer holds the secret: an Idempotency-Key retry gets a 409, never a copy.
    dependencies=[Depends(withhold_from_replay)],
)
async def create_webhook(
    project_id: uuid.UUID,
    body: WebhookCreate,
    principal: CurrentUser,
    db: SessionDep,
    resources: ResourcesDep,
) -> WebhookCreated:
    endpoint, secret = await service.create_webhook(
        db,
        project_id=project_id,
        user_id=principal.id,
        data=body,
        settings=resources.settings,
        server_key=resources.secret_key,
    )
    read = WebhookRead.model_validate(endpoint)
    return WebhookCreated(**read.model_dump(by_alias=False), secret=secret)


@router.get(
    "/projects/{project_id}/webhooks",
    summary="The project's webhooks, oldest first (admin+)",
    responses=problems(403, 404, 422),
)
async def list_webhooks(
    project_id: uuid.UUID, principal: CurrentUser, db: SessionDep, page: PageDep
) -> Page[WebhookRead]:
    endpoints, next_cursor = await service.list_webhooks(
        db, project_id=project_id, user_id=principal.id, page=page
    )
    return Page(items=[WebhookRead.model_validate(e) for e in endpoints], next_cursor=next_cursor)


@router.get(
    "/webhooks/{webhook_id}",
    summary="One webhook (admin+); never its secret",
    responses=problems(403, 404, 422),
)
async def get_webhook(webhook_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> WebhookRead:
    endpoint = await service.get_webhook(db, webhook_id=webhook_id, user_id=principal.id)
    return WebhookRead.model_validate(endpoint)


@router.patch(
    "/webhooks/{webhook_id}",
    summary="Change url, events or description, or enable/disable (admin+)",
    responses=problems(*JSON_BODY, 403, 404, 409, notes=REFUSED),
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    principal: CurrentUser,
    db: SessionDep,
    resources: ResourcesDep,
) -> WebhookRead:
    endpoint = await service.update_webhook(
        db, webhook_id=webhook_id, user_id=principal.id, data=body, settings=resources.settings
    )
    return WebhookRead.model_validate(endpoint)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook and its delivery log (admin+)",
    responses=problems(403, 404, 409, 422),
)
async def delete_webhook(webhook_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> None:
    await service.delete_webhook(db, webhook_id=webhook_id, user_id=principal.id)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    summary="The webhook's delivery log, newest first (admin+)",
    responses=problems(403, 404, 422),
)
async def list_deliveries(
    webhook_id: uuid.UUID, principal: CurrentUser, db: SessionDep, page: PageDep
) -> Page[DeliveryRead]:
    deliveries, next_cursor = await service.list_deliveries(
        db, webhook_id=webhook_id, user_id=principal.id, page=page
    )
    return Page(items=[DeliveryRead.model_validate(d) for d in deliveries], next_cursor=next_cursor)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send one delivery again, with the same webhook-id (admin+); queued at once",
    responses=problems(403, 404, 409, 422),
)
async def redeliver(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> DeliveryRead:
    delivery = await service.redeliver(
        db, webhook_id=webhook_id, delivery_id=delivery_id, user_id=principal.id
    )
    return DeliveryRead.model_validate(delivery)
