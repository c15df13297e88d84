"""The kinds of notification a user can receive."""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"  # a task was assigned to you
    MENTIONED = "mentioned"  # @you in a comment or a description
    COMMENTED = "commented"  # a comment on a task you created, are assigned to or watch
    DUE_SOON = "due_soon"  # 24 h before due_at, to the assignee
    REMINDER = "reminder"  # at a task's remind_at, to the assignee and watchers
    INVITED = "invited"  # you were invited to a project
    WEBHOOK_DISABLED = "webhook_disabled"  # to a project's admins: an endpoint kept failing
