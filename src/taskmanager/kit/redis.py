"""The Redis client: a real one for REDIS_URL, else an in-process stand-in with the same API."""

from __future__ import annotations

from redis.asyncio import Redis

from taskmanager.config import Settings


def create_redis(settings: Settings) -> Redis:
    if settings.redis_url is None:
        import fakeredis

        # One FakeServer per process: every client made from it shares keys and pub/sub.
        client: Redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
        return client
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=15,
        retry_on_timeout=False,
    )


def create_pubsub_redis(settings: Settings, shared: Redis) -> Redis:
    """A client for the long-lived subscriber: no read timeout (it waits for messages)."""
    if settings.redis_url is None:
        return shared  # the stand-in: pub/sub only works within its one FakeServer
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=None,
        socket_connect_timeout=2.0,
        socket_keepalive=True,
        health_check_interval=5,
    )
