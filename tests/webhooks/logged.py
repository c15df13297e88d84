"""A delivery log entry made straight in the database, for tests of the routes around it
that must not send anything (its event is not in the log, so a redelivery sends nothing)."""

from __future__ import annotations

import secrets
import uuid

from taskmanager.db import utcnow
from taskmanager.webhooks.models import FAILED, WebhookDelivery
from tests.server import RunningServer


async def logged_delivery(server: RunningServer, webhook_id: str) -> str:
    delivery_id = uuid.uuid4()
    async with server.resources.session_factory() as db:
        db.add(
            WebhookDelivery(
                id=delivery_id,
                endpoint_id=uuid.UUID(webhook_id),
                event_seq=10**12 + secrets.randbelow(10**9),  # no such event
                event_name="task.created",
                status=FAILED,
                attempts=1,
                created_at=utcnow(),
            )
        )
        await db.commit()
    return str(delivery_id)
