"""Migrations: idempotent, and the models and the migration history describe the same schema."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic import command

from taskmanager.config import Settings
from taskmanager.migrations.runner import alembic_config, upgrade_to_head


async def test_migrate_is_idempotent_and_matches_models(
    migrated: None, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    await asyncio.to_thread(upgrade_to_head, settings)  # a second run changes nothing
    # Raises if autogenerate would emit any operation: models and migrations agree.
    await asyncio.to_thread(command.check, alembic_config(settings))
