"""Settings read from the environment and `.env`, validated once at start-up.

One `Settings` class, assembled from a section per concern (core.py, realtime.py,
background.py, accounts.py, storage.py); every field is an environment variable of the
same name in upper case.
"""

from __future__ import annotations

import sys
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from taskmanager.config.accounts import AccountSettings, OidcProvider
from taskmanager.config.background import BackgroundSettings
from taskmanager.config.core import CoreSettings
from taskmanager.config.realtime import RealtimeSettings
from taskmanager.config.storage import StorageSettings

__all__ = ["OidcProvider", "Settings", "load_settings"]


# Fields are listed (README, `--help`) from the last base to the first: core first.
class Settings(
    StorageSettings,
    AccountSettings,
    BackgroundSettings,
    RealtimeSettings,
    CoreSettings,
    BaseSettings,
):
    """Every knob the service has. Unset DATABASE_URL / REDIS_URL select the embedded mode."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    @property
    def embedded(self) -> bool:
        """True when either backend is the in-process stand-in: one process only."""
        return self.database_url is None or self.redis_url is None

    @cached_property
    def sqlalchemy_url(self) -> str:
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'taskmanager.db').resolve()}"
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url

    @property
    def outbox_dir(self) -> Path:
        return self.mail_outbox_dir or self.data_dir / "outbox"

    @property
    def attachment_dir(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix pins the cookie to this host, path / and HTTPS.
        return "__Host-session" if self.cookie_secure else "session"


def load_settings() -> Settings:
    """Settings from the environment, or exit 2 with one line per bad variable."""
    try:
        return Settings()
    except SettingsError as exc:  # a value the environment source itself could not parse
        print(f"taskmanager: invalid configuration\n  {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValidationError as exc:
        print("taskmanager: invalid configuration", file=sys.stderr)
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "SETTINGS"
            value = error.get("input")
            shown = (
                f" (got {value!r})"
                if isinstance(value, str | int | float)
                and "URL" not in name
                and "TOKEN" not in name  # never echo a secret
                and "SECRET" not in name
                and "OIDC" not in name
                else ""
            )
            print(f"  {name}: {error['msg']}{shown}", file=sys.stderr)
        raise SystemExit(2) from None
