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
from taskmanager.oidc.models import OidcIdentity
from taskmanager.tasks.models import Task, TaskRelation, task_labels

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
    "OidcIdentity",
    "Project",
    "Task",
    "TaskRelation",
    "User",
    "task_labels",
]
