"""Apply Alembic migrations programmatically (used by `taskmanager migrate` and embedded start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from taskmanager.config import Settings

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(slug)s")
    config.attributes["settings"] = settings
    return config


def upgrade_to_head(settings: Settings) -> None:
    """Idempotent: a database already at head is left alone."""
    if settings.is_sqlite and settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), "head")
