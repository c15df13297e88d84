"""The SSRF guard: which URLs a webhook may target and which addresses it may connect to."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services. Both are inside ranges refused anyway (link-local, unique-local);
# named so that allowing a range later cannot let them through by accident.
METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
SCHEMES = frozenset({"http", "https"})


class AddressRefused(Exception):
    """The target is not a public address (or does not resolve); the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL and the checked address to connect to for it."""

    url: SplitResult
    host: str
    port: int
    address: IPAddress


def split_url(url: str) -> SplitResult:
    """The URL's parts, or ValueError for one a webhook cannot target."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError("must be an http or https URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials; authenticate receivers by the signature")
    try:
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        raise ValueError("has an invalid port") from None
    return parts


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not be a webhook's target, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA:
        return "a cloud metadata address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((why for refused, why in checks if refused), None)


async def resolve(url: str, *, allow_private: bool) -> Target:
    """Resolve the URL's host and check every address it has; AddressRefused if any is not
    public (unless `allow_private`), so that no answer of a round-robin name is internal."""
    parts = split_url(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            raise AddressRefused(f"{host} does not resolve") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise AddressRefused(f"{host} does not resolve")
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why is not None:
                raise AddressRefused(f"{host} resolves to {address}, {why}")
    return Target(url=parts, host=host, port=port, address=addresses[0])
