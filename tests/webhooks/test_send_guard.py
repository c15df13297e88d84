"""The SSRF guard again at send time: an endpoint saved while its host was allowed is not
sent to once its address is refused (here: saved with WEBHOOK_ALLOW_PRIVATE on, delivered
by an instance with it off, which is what a DNS change to an internal address looks like)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from taskmanager.config import Settings
from tests import backends
from tests.helpers import API, create_task, make_team
from tests.isolated import isolated_settings
from tests.server import run_server
from tests.webhooks.conftest import HOOK_SETTINGS, add_webhook
from tests.webhooks.receiver import Receiver


async def test_a_target_that_became_internal_is_refused_at_send(
    backend: backends.Backend, make_settings: Callable[..., Settings], receiver: Receiver
) -> None:
    async with isolated_settings(
        backend, make_settings, **{**HOOK_SETTINGS, "jobs_in_serve": False}
    ) as lenient:
        strict = lenient.model_copy(update={"webhook_allow_private": False, "jobs_in_serve": True})
        async with run_server(lenient) as setup, run_server(strict) as sender:
            team = await make_team(setup.base_url, "Guarded")
            try:
                owner = team["owner"]
                hook = await add_webhook(owner, team.project_id, receiver, "/internal")
                await create_task(owner, team.project_id, "Must not leave")
                log: list[dict[str, object]] = []
                for _ in range(600):
                    response = await owner.get(f"{API}/webhooks/{hook['id']}/deliveries")
                    log = response.json()["items"]
                    if log:
                        break
                    await asyncio.sleep(0.05)
                [delivery] = log
                assert delivery["status"] == "failed"
                assert delivery["response_status"] is None
                assert "loopback" in str(delivery["error"])
                assert delivery["next_attempt_at"] is not None  # retried: DNS may change back
                assert receiver.on("/internal") == []
                assert sender.settings.webhook_allow_private is False
            finally:
                await team.aclose()
