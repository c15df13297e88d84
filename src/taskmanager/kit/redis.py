"""The Redis client: a real one for REDIS_URL, else an in-process stand-in with the same API."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from taskmanager.config import Settings


def create_redis(settings: Settings) -> Redis:
    if settings.redis_url is None:
        import fakeredis

        # One FakeServer per process: every client made from it shares keys and pub/sub.
        # Its connections are in-process, but its default pool refuses the 101st at once too.
        client: Redis = fakeredis.FakeAsyncRedis(
            server=fakeredis.FakeServer(),
            connection_pool_class=BlockingConnectionPool,
            max_connections=settings.redis_max_connections,
        )
        client.connection_pool.timeout = settings.redis_pool_timeout_seconds  # type: ignore[attr-defined]
        return client
    # redis-py's default pool raises "Too many connections" on the operation after its
    # limit; a blocking pool makes a spike queue for a connection (up to the timeout).
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_seconds,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=15,
        retry_on_timeout=False,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() disconnects it


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
