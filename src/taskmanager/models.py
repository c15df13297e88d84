"""Imports every feature's models so that metadata (and Alembic) sees all tables."""

from taskmanager.accounts.models import EmailToken
from taskmanager.attachments.models import Attachment
from taskmanager.auth.models import ApiToken, User
from taskmanager.calendar.models import CalendarFeed
from taskmanager.comments.models import Comment
from taskmanager.db import Base
from taskmanager.events.models import Event
from taskmanager.invitations.models import Invitation
from taskmanager.jobs.models import Job
from taskmanager.labels.models import Label
from taskmanager.membership.models import Membership, Project
from taskmanager.notifications.emails.models import NotificationMailState, NotificationSettings
from taskmanager.notifications.models import Notification, TaskWatch
from taskmanager.oidc.models import OidcIdentity
from taskmanager.reminders.models import TaskReminderSent
from taskmanager.tasks.models import Task, TaskRelation, task_labels
from taskmanager.webhooks.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiToken",
    "Attachment",
    "Base",
    "CalendarFeed",
    "Comment",
    "EmailToken",
    "Event",
    "Invitation",
    "Job",
    "Label",
    "Membership",
    "Notification",
    "NotificationMailState",
    "NotificationSettings",
    "OidcIdentity",
    "Project",
    "Task",
    "TaskRelation",
    "TaskReminderSent",
    "TaskWatch",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "task_labels",
]
