"""Every module that registers job handlers, and the jobs that run on an interval."""

from __future__ import annotations

import importlib

HANDLER_MODULES = (
    "taskmanager.mail.jobs",
    "taskmanager.accounts.mails",
    "taskmanager.invitations.mails",
    "taskmanager.reminders.jobs",
    "taskmanager.notifications.emails.jobs",
    "taskmanager.webhooks.delivery",
    "taskmanager.attachments.jobs",
)

PERIODIC_JOBS: tuple[tuple[str, str], ...] = (
    # (job kind, the Settings field with its interval in seconds; 0 turns it off)
    ("reminders.sweep", "reminder_sweep_seconds"),
    ("notifications.daily_digest", "notification_digest_sweep_seconds"),
    ("attachments.sweep", "attachment_sweep_seconds"),
)
"""Jobs that run once per interval across all workers: exactly one row of each is queued
at any time (jobs.queue.schedule_periodic), and finishing a run queues the next one."""


def load() -> None:
    for name in HANDLER_MODULES:
        importlib.import_module(name)
