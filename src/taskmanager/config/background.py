"""Settings of the background work: the job worker, reminders, webhooks, notification mail."""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationInfo, field_validator


class BackgroundSettings(BaseModel):
    """The job worker and what runs on it (periodic sweeps, deliveries, mail grouping)."""

    jobs_in_serve: bool = Field(
        default=True,
        description="Run the background job worker (mail, reminders) inside `serve`. Turn off when "
        "`taskmanager worker` runs as its own process.",
    )
    job_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often an idle job worker looks for due jobs."
    )
    job_max_attempts: int = Field(
        default=12,
        ge=1,
        description="Attempts before a failing job is given up and kept as failed (the delay "
        "doubles from 2 s up to an hour, with jitter: about 4 hours in all at 12).",
    )
    job_lease_seconds: int = Field(
        default=300,
        ge=5,
        description="A claimed job that is not finished within this time (its worker died) "
        "is taken again by another worker.",
    )
    reminder_sweep_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often a job worker looks for due reminders (`due_soon` and "
        "`remind_at`): a reminder arrives at most this late. One sweep at a time across all "
        "workers. 0: no reminders are sent.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback, private, link-local, unique-local and other "
        "non-public addresses (tests and local development only: it opens the server to SSRF).",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Connect and response timeout of one webhook delivery attempt. Keep it "
        "well under JOB_LEASE_SECONDS.",
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0,
        gt=0,
        description="First delay before a failed webhook delivery is retried; it doubles per "
        "attempt, with jitter, up to an hour (a receiver's Retry-After wins).",
    )
    webhook_disable_after_seconds: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="An endpoint that keeps failing this long is disabled and the project's "
        "owner and admins are notified (the retries go on for all of it).",
    )
    notification_mail_interval_seconds: int = Field(
        default=300,
        ge=1,
        description="At most one notification mail per user in this time: what comes "
        "meanwhile is grouped into the next mail.",
    )
    notification_digest_sweep_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How often a job worker runs the daily digest job (it mails each user "
        "once per day, from NOTIFICATION_DIGEST_HOUR_UTC on). 0: digests only by "
        "`taskmanager digest`.",
    )
    notification_digest_hour_utc: int = Field(
        default=7,
        ge=0,
        le=23,
        description="The hour (UTC) from which the periodic daily digest job mails each "
        "user who chose `digest: daily` (once per day); `taskmanager digest` mails at any hour.",
    )
    attachment_sweep_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How often a job worker removes stored files that no attachment row "
        "names and that are over an hour old (left by a crash mid-upload). 0: only by "
        "`taskmanager attachments sweep`.",
    )

    @field_validator("webhook_timeout_seconds")
    @classmethod
    def _check_webhook_timeout(cls, value: float, info: ValidationInfo) -> float:
        # A delivery job must finish its attempt well within its lease, or a second worker
        # could take the job (and the endpoint) while the first still sends.
        lease = info.data.get("job_lease_seconds")
        if lease is not None and value * 2 >= lease:
            raise ValueError("must be less than half of JOB_LEASE_SECONDS")
        return value
