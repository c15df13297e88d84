"""Close live connections with 1001 the moment SIGTERM/SIGINT arrives, before uvicorn does.

uvicorn closes WebSockets with 1012 and waits for streaming responses to end; we want
1001 (going away) for sockets and SSE streams that end at once, so the hook runs first
and then hands the signal on. A second signal exits immediately.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from taskmanager.realtime.hub import Hub

logger = logging.getLogger("taskmanager.shutdown")

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install(hub: Hub) -> Callable[[], None]:
    """Chain our handler before the current one; returns a function that restores it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    received: list[int] = []

    def handler(sig: int, frame: FrameType | None) -> None:
        received.append(sig)
        if len(received) > 1:
            logger.warning("second signal: exiting at once")
            os._exit(1)
        logger.info("shutting down: closing live connections", extra={"signal": sig})
        chained = previous.get(sig)

        async def close_then_hand_on() -> None:
            # uvicorn's handler is handed the signal only once our 1001s are on their way
            # (or after close_all's bound): handed on at once, uvicorn's own 1012 could
            # overtake them on a busy loop.
            try:
                await hub.close_all()
            finally:
                if callable(chained):
                    chained(sig, frame)

        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(close_then_hand_on()))

    for sig in _SIGNALS:
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, old)

    return restore
