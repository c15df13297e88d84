"""The application factory and its lifespan; nothing here connects at import time."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import compile_path

from taskmanager import __version__
from taskmanager.auth.deps import authenticate_scope
from taskmanager.config import Settings, load_settings
from taskmanager.db import create_engine, create_read_session_factory, create_session_factory
from taskmanager.errors import install_error_handlers
from taskmanager.kit.redis import create_pubsub_redis, create_redis
from taskmanager.kit.responses import document_problems
from taskmanager.kit.signing import load_secret_key
from taskmanager.logs import configure_logging
from taskmanager.middleware.asgi import StreamedBody
from taskmanager.middleware.stack import install_middleware
from taskmanager.observability.metrics import include_router, instrument_engine, process_exiting
from taskmanager.state import AppState, Resources

logger = logging.getLogger("taskmanager.app")

API_PREFIX = "/api/v1"


def create_served_app() -> FastAPI:
    """What `taskmanager serve` runs in each worker: the app, with the collector tuned for
    a long-lived server process (see _tune_gc)."""
    return create_app(tune_gc=True)


def _tune_gc() -> None:
    """Move everything made at start-up (modules, routes, schemas, pools) out of the
    collector's sight. A full collection otherwise walks that heap again and again, and
    with thousands of live connections each one stalls every subscriber's delivery."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, tune_gc: bool = False) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[AppState]:
        if settings.is_sqlite:
            from taskmanager.migrations.runner import upgrade_to_head

            # Embedded mode creates (or upgrades) its schema on start.
            await asyncio.to_thread(upgrade_to_head, settings)
        if settings.embedded:
            logger.warning(
                "embedded mode: %s; this process must be the only one serving this data",
                "SQLite file + in-process Redis stand-in"
                if settings.database_url is None and settings.redis_url is None
                else "an in-process stand-in replaces one backend",
            )
        from taskmanager.auth.passwords import warm_up

        # The dummy hash that unknown e-mails are checked against, made now: otherwise the
        # first such login takes two argon2 runs and stands out by its timing.
        await asyncio.to_thread(warm_up)
        engine = create_engine(settings)
        instrument_engine(engine)
        redis = create_redis(settings)
        resources = Resources(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            redis=redis,
            read_session_factory=create_read_session_factory(engine, settings),
            secret_key=load_secret_key(settings),
        )
        from taskmanager.realtime.hub import Hub
        from taskmanager.realtime.limits import ConnectionLimits

        resources.limits = ConnectionLimits()
        resources.hub = Hub(resources, pubsub_redis=create_pubsub_redis(settings, redis))
        await resources.hub.start()
        from taskmanager.events.retention import RetentionJob

        resources.retention = RetentionJob(resources)
        resources.retention.start()
        from taskmanager.jobs.worker import JobWorker

        resources.jobs = JobWorker(resources)
        if settings.jobs_in_serve:
            resources.jobs.start()
        from taskmanager.realtime import shutdown

        restore_signals = shutdown.install(resources.hub)
        if tune_gc:
            _tune_gc()
        try:
            yield {"resources": resources}
        finally:
            restore_signals()
            await resources.retention.stop()
            await resources.jobs.stop()
            await resources.hub.stop()
            await resources.limits.stop()
            await redis.aclose()
            await engine.dispose()
            process_exiting()

    app = FastAPI(
        title="Task Manager",
        version=__version__,
        summary="Real-time task manager: projects, tasks and a live event stream.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    _include_routers(app)
    document_problems(app)
    from taskmanager.notifications.emails.tokens import UNSUBSCRIBE_PATH

    install_middleware(
        app,
        settings,
        authenticate=authenticate_scope,
        # RFC 8058: mail clients POST the one-click unsubscribe as a form, not JSON.
        form_paths=frozenset({UNSUBSCRIBE_PATH}),
        streamed=_streamed_bodies(settings),
    )
    from taskmanager.web import mount_web

    mount_web(app)  # last: the API routes are matched first
    return app


def _streamed_bodies(settings: Settings) -> tuple[StreamedBody, ...]:
    """Routes that read their own body as a stream, with their own bound (uploads)."""
    from taskmanager.attachments.router import UPLOAD_PATH
    from taskmanager.attachments.upload import upload_allowance

    return (
        StreamedBody(
            method="POST",
            path=compile_path(API_PREFIX + UPLOAD_PATH)[0],
            max_bytes=upload_allowance(settings.attachment_max_bytes),
            media_type="multipart/form-data",
        ),
    )


def _include_routers(app: FastAPI) -> None:
    from taskmanager.accounts.router import router as accounts_router
    from taskmanager.attachments.router import router as attachments_router
    from taskmanager.auth.router import router as auth_router
    from taskmanager.calendar.router import router as calendar_router
    from taskmanager.comments.router import router as comments_router
    from taskmanager.events.router import router as events_router
    from taskmanager.health.router import router as health_router
    from taskmanager.invitations.router import router as invitations_router
    from taskmanager.labels.router import router as labels_router
    from taskmanager.notifications.emails.router import router as notification_mail_router
    from taskmanager.notifications.router import router as notifications_router
    from taskmanager.oidc.router import router as oidc_router
    from taskmanager.projects.router import router as projects_router
    from taskmanager.realtime.sse import router as sse_router
    from taskmanager.realtime.user_stream import router as user_stream_router
    from taskmanager.realtime.websocket import router as websocket_router
    from taskmanager.sync.router import router as sync_router
    from taskmanager.tasks.router import router as tasks_router
    from taskmanager.transfer.router import router as transfer_router
    from taskmanager.webhooks.router import router as webhooks_router

    include_router(app, health_router)
    include_router(app, auth_router, prefix=API_PREFIX)
    include_router(app, accounts_router, prefix=API_PREFIX)
    include_router(app, oidc_router, prefix=API_PREFIX)
    include_router(app, websocket_router, prefix=API_PREFIX)
    include_router(app, sse_router, prefix=API_PREFIX)
    # Routes are matched in order, one regular expression each: the task routes, the
    # busiest, come early (a GET of a task tried ~60 patterns before them).
    for router in (
        calendar_router,
        transfer_router,
        projects_router,
        invitations_router,
        tasks_router,
        attachments_router,
        labels_router,
        comments_router,
        events_router,
        user_stream_router,
        notifications_router,
        notification_mail_router,
        webhooks_router,
        sync_router,
    ):
        include_router(app, router, prefix=API_PREFIX)
