"""One delivery attempt: POST to the checked address, keep at most 1 KiB of the answer."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import ssl
import time
from dataclasses import dataclass

import httpx

from taskmanager.webhooks.addresses import AddressRefused, resolve

BODY_LIMIT = 1024
RETRY_AFTER_CAP = dt.timedelta(days=1)
USER_AGENT = "taskmanager-webhooks/1"


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # None: no HTTP answer (refused, unreachable, timed out)
    duration_ms: int
    body: str | None
    error: str | None
    retry_after: dt.timedelta | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """`Retry-After` as delay-seconds or an HTTP date (RFC 9110 10.2.3), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = dt.timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        delay = max(dt.timedelta(), when - now)
    return min(delay, RETRY_AFTER_CAP)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (the system's CA bundle, as httpx loads it) for every attempt:
    loading the bundle costs more CPU than the whole delivery, so it is done once."""
    return httpx.create_ssl_context(trust_env=False)


def client(timeout: float) -> httpx.AsyncClient:
    """A client for one endpoint's run of deliveries (keep-alive across its events): every
    request still goes to the address checked for it; never shared between endpoints, so a
    pooled TLS connection always carries the SNI of the URL it was opened for."""
    return httpx.AsyncClient(
        follow_redirects=False, timeout=timeout, trust_env=False, verify=_tls()
    )


def _request_url(target_url: httpx.URL, address: str) -> httpx.URL:
    host = f"[{address}]" if ":" in address else address
    return target_url.copy_with(host=host)


async def send(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float,  # noqa: ASYNC109 (a bound on the whole attempt, and on each of httpx's phases)
    allow_private: bool,
    http: httpx.AsyncClient,
) -> Outcome:
    """POST `body` to `url`, connecting only to an address checked just now (DNS may have
    changed since the endpoint was saved). The Host header and TLS server name stay the
    URL's host, so virtual hosts and certificates work as usual; redirects are not followed
    (a 3xx is a failure), so a receiver cannot bounce the request to an internal address."""
    started = time.monotonic()

    def failed(error: str) -> Outcome:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, elapsed, None, error[:500], None)

    try:
        target = await resolve(url, allow_private=allow_private)
    except (AddressRefused, ValueError) as exc:
        return failed(f"refused: {exc}")
    original = httpx.URL(url)
    netloc = original.netloc.decode("ascii")
    request_headers = {
        **headers,
        "Host": netloc,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the 1 KiB kept is then readable text
    }
    extensions = {"sni_hostname": target.host} if original.scheme == "https" else {}
    try:
        async with (
            asyncio.timeout(timeout),
            http.stream(
                "POST",
                _request_url(original, str(target.address)),
                content=body,
                headers=request_headers,
                extensions=extensions,
            ) as response,
        ):
            kept = bytearray()
            async for chunk in response.aiter_raw():
                kept += chunk
                if len(kept) >= BODY_LIMIT:
                    break  # the rest is never read: closing the stream drops it
    except (httpx.TimeoutException, TimeoutError):
        return failed(f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return failed(f"{type(exc).__name__}: {exc}")
    elapsed = int((time.monotonic() - started) * 1000)
    now = dt.datetime.now(dt.UTC)
    return Outcome(
        status=response.status_code,
        duration_ms=elapsed,
        body=bytes(kept[:BODY_LIMIT]).decode("utf-8", "replace"),
        error=None,
        retry_after=parse_retry_after(response.headers.get("retry-after"), now),
    )
