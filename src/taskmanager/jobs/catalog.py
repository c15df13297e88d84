"""Every module that registers job handlers, imported once before a worker starts."""

from __future__ import annotations

import importlib

HANDLER_MODULES = (
    "taskmanager.mail.jobs",
    "taskmanager.accounts.mails",
    "taskmanager.invitations.mails",
    "taskmanager.attachments.jobs",
)


def load() -> None:
    for name in HANDLER_MODULES:
        importlib.import_module(name)
