"""Settings of attachment storage: a local directory or S3-compatible object storage."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator


class StorageSettings(BaseModel):
    """Where task attachments are kept, and how large they may be."""

    attachment_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Largest file a task attachment may be (bytes); a larger upload is cut "
        "off with 413 while it streams, and nothing of it is kept.",
    )
    attachment_upload_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="An attachment upload must arrive in full within this time, else 408 "
        "(uploads have their own bound: REQUEST_BODY_TIMEOUT_SECONDS is for JSON bodies).",
    )
    attachments_dir: Path | None = Field(
        default=None,
        description="Where attachments are stored when S3_URL is unset. Unset: "
        "DATA_DIR/attachments (data/attachments). Every instance must see the same directory.",
    )
    s3_url: str | None = Field(
        default=None,
        description="Store attachments in S3-compatible object storage instead: the endpoint "
        "and bucket, e.g. https://s3.eu-west-1.amazonaws.com/my-bucket or "
        "http://127.0.0.1:9000/my-bucket (MinIO).",
    )
    s3_access_key_id: str | None = Field(
        default=None, description="Access key of S3_URL (unset: the environment's AWS_* chain)."
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret key of S3_URL."
    )
    s3_region: str = Field(default="us-east-1", description="Region of S3_URL's bucket.")

    @field_validator("s3_url")
    @classmethod
    def _check_s3_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        url = urlsplit(value.strip())
        bucket = url.path.strip("/")
        if url.scheme not in {"http", "https"} or not url.netloc or not bucket or "/" in bucket:
            raise ValueError("must be http(s)://host[:port]/bucket")
        return value.strip().rstrip("/")
