"""Background tasks of the process (retention, job worker): stopping one the same way."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has finished; nothing if there is none.

    `asyncio.wait` rather than awaiting the task: the task's CancelledError stays inside it,
    while a cancellation of the caller itself still propagates.
    """
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
