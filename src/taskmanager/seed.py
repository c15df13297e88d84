"""`taskmanager seed`: demo users, two projects, a few dozen tasks with labels and comments.

Safe to run twice: users that exist are reused and a demo project that exists is left alone.
Everything goes through the same services as the API, so the event log is filled in too.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.auth.passwords import hash_password
from taskmanager.comments import service as comments
from taskmanager.comments.schemas import CommentCreate
from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory, utcnow
from taskmanager.invitations import service as invitations
from taskmanager.invitations.schemas import InvitationCreate
from taskmanager.kit.redis import create_redis
from taskmanager.labels import service as labels
from taskmanager.labels.schemas import LabelCreate
from taskmanager.membership.models import Membership, Project
from taskmanager.projects import service as projects
from taskmanager.projects.schemas import AssignableRole, ProjectCreate
from taskmanager.state import Resources
from taskmanager.tasks import service as tasks
from taskmanager.tasks.schemas import TaskCreate
from taskmanager.uow import unit_of_work

DEMO_PASSWORD = "demo password 2026"  # noqa: S105 - demo accounts, printed on purpose
USERS = [
    ("ada@example.com", "Ada Lovelace"),
    ("grace@example.com", "Grace Hopper"),
    ("linus@example.com", "Linus Torvalds"),
]
LABELS = [("bug", "#d73a4a"), ("feature", "#a2eeef"), ("design", "#d876e3"), ("docs", "#0075ca")]


@dataclass(frozen=True)
class DemoProject:
    name: str
    description: str
    owner: str
    members: list[tuple[str, AssignableRole]]
    tasks: list[str]


PROJECTS = [
    DemoProject(
        name="Website relaunch",
        description="New marketing site, blog and docs portal.",
        owner="ada@example.com",
        members=[("grace@example.com", "admin"), ("linus@example.com", "member")],
        tasks=[
            "Audit current pages",
            "Pick a static site generator",
            "Design the landing page",
            "Write the pricing page copy",
            "Set up the blog",
            "Migrate old blog posts",
            "Redirects for old URLs",
            "Accessibility review",
            "Lighthouse budget in CI",
            "Cookie banner",
            "Docs search",
            "Dark mode",
            "Open Graph images",
            "Launch checklist",
            "Announce the relaunch",
            "Fix broken footer links",
            "Newsletter signup",
            "404 page",
        ],
    ),
    DemoProject(
        name="Mobile app",
        description="iOS and Android client for the task manager.",
        owner="grace@example.com",
        members=[("ada@example.com", "member"), ("linus@example.com", "viewer")],
        tasks=[
            "Login screen",
            "Offline cache",
            "Push notifications",
            "Board view",
            "Drag and drop between columns",
            "Comment threads",
            "Crash reporting",
            "App store screenshots",
            "Beta programme",
            "Settings screen",
            "Deep links",
            "Accessibility labels",
            "Tablet layout",
            "Release 1.0",
        ],
    ),
]
STATUSES = ("todo", "in_progress", "done")
PRIORITIES = ("none", "low", "medium", "high", "urgent")


def _say(message: str) -> None:
    print(f"seed: {message}", file=sys.stderr, flush=True)


async def _user(session: AsyncSession, email: str, name: str) -> User:
    user = await session.scalar(select(User).where(User.email == email))
    if user is not None:
        _say(f"user {email} exists, reusing it")
        return user
    user = User(
        email=email,
        display_name=name,
        password_hash=await hash_password(DEMO_PASSWORD),
        email_verified=True,  # demo addresses: nobody could follow a link sent there
    )
    session.add(user)
    await session.flush()
    _say(f"user {email} created (password: {DEMO_PASSWORD!r})")
    return user


async def _project_exists(session: AsyncSession, owner_id: uuid.UUID, name: str) -> bool:
    found = await session.scalar(
        select(Project.id)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == owner_id, Membership.role == "owner", Project.name == name)
    )
    return found is not None


async def _fill(session: AsyncSession, spec: DemoProject, users: dict[str, User]) -> None:
    owner = users[spec.owner]
    created = await projects.create_project(
        session, user_id=owner.id, data=ProjectCreate(name=spec.name, description=spec.description)
    )
    project = created.project
    members = spec.members
    for email, role in members:  # invited and accepted at once (the mail job then skips it)
        invitation = await invitations.invite(
            session,
            project_id=project.id,
            user_id=owner.id,
            data=InvitationCreate(email=email, role=role),
        )
        await invitations.accept(session, users[email], token=None, invitation_id=invitation.id)
    label_ids = []
    for name, color in LABELS:
        label = await labels.create_label(
            session,
            project_id=project.id,
            user_id=owner.id,
            data=LabelCreate(name=name, color=color),
        )
        label_ids.append(label.id)
    assignees = [owner.id] + [users[email].id for email, role in members if role != "viewer"]
    titles = spec.tasks
    today = utcnow().replace(hour=17, minute=0, second=0, microsecond=0)
    for i, title in enumerate(titles):
        task = await tasks.create_task(
            session,
            project_id=project.id,
            user_id=owner.id,
            data=TaskCreate.model_validate(
                {
                    "title": title,
                    "description": f"Demo task {i + 1} of {spec.name}.",
                    "status": STATUSES[i % 3],
                    "priority": PRIORITIES[(i * 2) % 5],
                    "due_at": today + dt.timedelta(days=i - 3) if i % 4 else None,
                    "assignee_id": assignees[i % len(assignees)] if i % 5 else None,
                    "label_ids": [label_ids[i % 4]]
                    + ([label_ids[(i + 1) % 4]] if i % 3 == 0 else []),
                }
            ),
        )
        if i % 3 == 1:
            for author in assignees[:2]:
                await comments.create_comment(
                    session,
                    task_id=task.id,
                    user_id=author,
                    data=CommentCreate(body=f"Looking at \u201c{title}\u201d now."),
                )
    _say(f"project {spec.name!r}: {len(titles)} tasks, {len(LABELS)} labels, members added")


async def seed(settings: Settings, *, redis: Redis | None = None) -> None:
    """Fill the database; events are published like a request's (to `redis`, if given,
    else to REDIS_URL's), so servers already running show the demo data live."""
    engine = create_engine(settings)
    resources = Resources(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        redis=redis or create_redis(settings),
    )
    try:
        async with unit_of_work(resources) as uow:
            users = {email: await _user(uow.session, email, name) for email, name in USERS}
        for spec in PROJECTS:
            async with unit_of_work(resources) as uow:
                owner = users[spec.owner]
                if await _project_exists(uow.session, owner.id, spec.name):
                    _say(f"project {spec.name!r} exists, leaving it alone")
                    continue
                await _fill(uow.session, spec, users)
        _say(f"done; log in as any of {', '.join(e for e, _ in USERS)}")
    finally:
        if redis is None:
            await resources.redis.aclose()
        await engine.dispose()
