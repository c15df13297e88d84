"""Imports every feature's models so that metadata (and Alembic) sees all tables."""

from taskmanager.auth.models import ApiToken, User
from taskmanager.calendar.models import CalendarFeed
from taskmanager.comments.models import Comment
from taskmanager.db import Base
from taskmanager.events.models import Event
from taskmanager.labels.models import Label
from taskmanager.membership.models import Membership, Project
from taskmanager.tasks.models import Task, TaskRelation, task_labels

__all__ = [
    "ApiToken",
    "Base",
    "CalendarFeed",
    "Comment",
    "Event",
    "Label",
    "Membership",
    "Project",
    "Task",
    "TaskRelation",
    "User",
    "task_labels",
]
