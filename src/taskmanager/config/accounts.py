"""Settings of accounts: mail, links in it, password reset and verification, OpenID Connect."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class OidcProvider(BaseModel):
    """One OpenID Connect identity provider users may sign in with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    display_name: str = Field(min_length=1, max_length=60)
    issuer: str = Field(pattern=r"^https?://\S+$")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])


class AccountSettings(BaseModel):
    """How the service mails people and lets them in."""

    smtp_url: SecretStr | None = Field(
        default=None,
        description="Mail server: smtp://user:pass@host:587 (STARTTLS when offered) or "
        "smtps://user:pass@host:465 (implicit TLS). Unset: mail is written as .eml files to "
        "MAIL_OUTBOX_DIR.",
    )
    smtp_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Connect and send timeout for the mail server."
    )
    mail_from: str = Field(
        default="Task Manager <noreply@localhost>",
        min_length=3,
        description="The From address of every mail.",
    )
    mail_outbox_dir: Path | None = Field(
        default=None,
        description="Where mail goes as .eml files when SMTP_URL is unset. Unset: "
        "DATA_DIR/outbox (data/outbox).",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address users reach the board at. Every link in a mail is built "
        "from it, never from a request's Host header.",
    )
    password_reset_ttl_minutes: int = Field(
        default=30, ge=1, description="How long a password reset link stays valid."
    )
    email_verification_ttl_hours: int = Field(
        default=48, ge=1, description="How long an e-mail verification link stays valid."
    )
    password_reset_max_per_email_per_hour: int = Field(
        default=5, ge=1, description="Password reset requests per e-mail address per hour."
    )
    password_reset_max_per_ip_per_hour: int = Field(
        default=30, ge=1, description="Password reset requests per client address per hour."
    )
    oidc_providers: list[OidcProvider] = Field(
        default_factory=list,
        description="OpenID Connect sign-in providers, a JSON list of {name, display_name, "
        "issuer, client_id, client_secret, scopes}. Register PUBLIC_BASE_URL"
        "/api/v1/auth/oidc/<name>/callback as the redirect URI at each.",
    )

    @field_validator("oidc_providers")
    @classmethod
    def _check_providers(cls, value: list[OidcProvider]) -> list[OidcProvider]:
        names = [p.name for p in value]
        if len(set(names)) != len(names):
            raise ValueError("provider names must be unique")
        for provider in value:
            if "openid" not in provider.scopes:
                raise ValueError(f"{provider.name}: scopes must include openid")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        url = urlsplit(value.get_secret_value())
        if url.scheme not in {"smtp", "smtps"} or not url.hostname:
            raise ValueError("must look like smtp://user:pass@host:587 or smtps://host:465")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_public_base_url(cls, value: str) -> str:
        url = urlsplit(value.strip())
        if url.scheme not in {"http", "https"} or not url.netloc or url.query or url.fragment:
            raise ValueError("must be an http(s):// address such as https://tasks.example.com")
        return value.strip().rstrip("/")
