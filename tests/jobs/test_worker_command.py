"""`taskmanager worker`, the job worker as its own process: it sends queued mail and stops
cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from taskmanager.config import Settings
from taskmanager.mail.jobs import queue_mail
from taskmanager.mail.message import compose
from tests import backends
from tests.isolated import isolated_resources
from tests.mailbox import Mailbox
from tests.processes import TASKMANAGER, base_env, wait_exit


async def test_the_worker_command_sends_mail_and_stops_on_sigterm(
    backend: backends.Backend, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with isolated_resources(backend, make_settings) as resources:
        async with resources.session_factory() as session:
            await queue_mail(session, compose("zoe@example.com", "From the worker", ["Hi."]))
            await session.commit()
        settings = resources.settings
        env = base_env(
            database_url=settings.database_url,
            data_dir=str(settings.data_dir),
            mail_outbox_dir=str(tmp_path),
            log_level="WARNING",
            job_poll_seconds=0.2,
        )
        proc = subprocess.Popen(
            [TASKMANAGER, "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            message = await Mailbox(outbox=tmp_path).wait_for("zoe@example.com", timeout=60)
            assert message["Subject"] == "From the worker"
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await wait_exit(proc, timeout=30)
            if code is None:
                proc.kill()
                proc.wait()
        assert code == 0
