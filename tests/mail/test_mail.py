"""Mail through a real SMTP server (aiosmtpd) and to the outbox; a down server delays mail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from taskmanager.config import Settings
from taskmanager.db import utcnow
from taskmanager.jobs.models import QUEUED, Job
from taskmanager.jobs.registry import JobContext
from taskmanager.jobs.worker import JobWorker
from taskmanager.mail.jobs import queue_mail, send_now
from taskmanager.mail.message import compose, public_link
from taskmanager.state import Resources
from tests import backends
from tests.isolated import clear_jobs, isolated_resources
from tests.mailbox import Mailbox, html_body, link_token, parse, smtp_server, text_body
from tests.processes import free_port

MAIL = compose(
    "ada@example.com",
    "Hello <Ada>",
    ["First paragraph & more."],
    link="https://tasks.example.com/reset-password#token=abc_DEF-123",
    link_label="Choose a new password",
    footer="You got this because you asked.",
)


@pytest.fixture(scope="module")
async def resources(
    backend: backends.Backend, make_settings: Callable[..., Settings]
) -> AsyncIterator[Resources]:
    async with isolated_resources(
        backend, make_settings, mail_from="Tasks <tasks@example.com>"
    ) as r:
        yield r


@pytest.fixture(autouse=True)
async def _fresh(resources: Resources) -> None:
    await clear_jobs(resources)


async def _queue(resources: Resources) -> None:
    async with resources.session_factory() as session:
        await queue_mail(session, MAIL)
        await session.commit()


def _with(resources: Resources, **overrides: object) -> Resources:
    settings = resources.settings.model_copy(update=overrides)
    return Resources(
        settings=settings,
        engine=resources.engine,
        session_factory=resources.session_factory,
        redis=resources.redis,
    )


async def test_mail_goes_through_smtp_with_text_and_html(resources: Resources) -> None:
    with smtp_server() as (mailbox, port):
        smtp = _with(resources, smtp_url=SecretStr(f"smtp://127.0.0.1:{port}"))
        await _queue(smtp)
        assert await JobWorker(smtp).run_once() == 1
        message = await mailbox.wait_for("ada@example.com")
    assert message["From"] == "Tasks <tasks@example.com>"
    assert message["Subject"] == "Hello <Ada>"
    assert "First paragraph & more." in text_body(message)
    assert "First paragraph &amp; more." in html_body(message)
    assert link_token(message) == ("https://tasks.example.com/reset-password", "abc_DEF-123")
    assert message["Message-ID"]


async def test_without_smtp_url_mail_is_an_eml_file_in_the_outbox(
    resources: Resources, tmp_path: Path
) -> None:
    outbox = _with(resources, smtp_url=None, mail_outbox_dir=tmp_path / "out")
    await _queue(outbox)
    await JobWorker(outbox).run_once()
    [message] = Mailbox(outbox=tmp_path / "out").all()
    assert message["To"] == "ada@example.com"
    assert link_token(message)[1] == "abc_DEF-123"


async def test_a_job_that_runs_twice_writes_one_outbox_file(
    resources: Resources, tmp_path: Path
) -> None:
    outbox = _with(resources, smtp_url=None, mail_outbox_dir=tmp_path)
    context = JobContext(resources=outbox, job_id="job-1", attempt=1)
    await send_now(context, MAIL)
    await send_now(context, MAIL)
    files = list(tmp_path.glob("*.eml"))
    assert [f.name for f in files] == ["job-1.eml"]
    assert parse(files[0].read_bytes())["Message-ID"].startswith("<job-1@")


async def test_a_down_mail_server_delays_the_mail_until_it_is_back(resources: Resources) -> None:
    port = free_port()  # nothing listens here yet
    smtp = _with(resources, smtp_url=SecretStr(f"smtp://127.0.0.1:{port}"), smtp_timeout_seconds=2)
    await _queue(smtp)
    worker = JobWorker(smtp)
    await worker.run_once()
    async with resources.session_factory() as session:
        [job] = (await session.scalars(select(Job))).all()
        assert (job.status, job.attempts) == (QUEUED, 1)
        assert job.last_error
        await session.execute(update(Job).values(run_at=utcnow()))
        await session.commit()
    from aiosmtpd.controller import Controller

    from tests.mailbox import _Collect

    collect = _Collect()
    controller = Controller(collect, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await worker.run_once()
        message = await Mailbox(smtp=collect).wait_for("ada@example.com")
    finally:
        controller.stop()
    assert message["Subject"] == "Hello <Ada>"


def test_line_breaks_never_reach_a_header() -> None:
    mail = compose("ada@example.com", "Bob invited you to Launch\r\nBcc: eve@example.com", ["x"])
    assert mail.subject == "Bob invited you to Launch Bcc: eve@example.com"


def test_links_come_from_the_public_base_url(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(public_base_url="https://tasks.example.com/")
    assert public_link(settings, "/verify-email", "t0k") == (
        "https://tasks.example.com/verify-email#token=t0k"
    )
