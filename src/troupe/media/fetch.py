"""Download a user-supplied video URL to a local file without letting it reach private networks:
each hop is resolved once, every address checked, and the connection pinned to a checked address.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import string
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

from troupe.errors import TroupeError

USER_AGENT = "troupe/0.1"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK_BYTES = 64 * 1024
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
# Checked in order, so the most specific explanation wins (169.254/16 is also "private").
_NON_PUBLIC_KINDS = (
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_unspecified", "an unspecified address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)

# The setting (settings.py's `allowed_hosts`) that exempts a host; refusals name it.
ALLOW_LIST_SETTING = "TROUPE_ALLOWED_HOSTS"

Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class FetchLimits:
    """What one fetch may cost and which non-public hosts it may still reach."""

    max_bytes: int
    timeout_seconds: float  # wall-clock budget for the whole fetch, redirects included
    max_redirects: int
    allowed_hosts: frozenset[str]  # hosts or IP strings exempt from the public-address check


@dataclass(frozen=True)
class FetchResult:
    final_url: str
    size: int
    content_type: str | None


@dataclass(frozen=True)
class Target:
    """One hop's URL split into what the connection needs."""

    scheme: str
    host: str
    port: int
    request_path: str  # path and query, as sent on the request line


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to, each once, in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def fetch_to_file(
    url: str, dest: Path, limits: FetchLimits, resolve: Resolver = resolve_host
) -> FetchResult:
    """Download `url` into `dest`, following redirects; `dest` is removed on any failure."""
    deadline = _Deadline.start(limits.timeout_seconds)
    try:
        return _follow_redirects(url, dest, limits, resolve, deadline)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def check_url(url: str) -> Target:
    """Split `url`, refusing anything but a plain http(s) URL with a host."""
    if _UNSAFE_URL_CHARS.search(url):
        raise _not_allowed(f"URL {url!r} contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _not_allowed(f"URL {url!r} is malformed: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise _not_allowed(f"URL scheme {parts.scheme!r} is not allowed; use http or https")
    if not parts.hostname:
        raise _not_allowed(f"URL {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise _not_allowed("URLs with credentials are not accepted")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=parts.scheme,
        host=_ascii_host(parts.hostname),
        port=port or (443 if parts.scheme == "https" else 80),
        # Only non-ASCII is encoded: the client's own escaping must reach the server unchanged.
        request_path=quote(path, safe=string.punctuation),
    )


def check_addresses(host: str, addresses: list[str], allowed_hosts: frozenset[str]) -> None:
    """Refuse the hop unless `host` is allow-listed or every address it resolved to is public."""
    if _host_key(host) in {_host_key(allowed) for allowed in allowed_hosts}:
        return
    for ip in addresses:
        reason = non_public_reason(ip)
        if reason is not None:
            raise _not_allowed(
                f"refusing host {host!r}: it resolves to {ip}, which is {reason}; "
                f"the server's operator may allow it by adding {host!r} to {ALLOW_LIST_SETTING}"
            )


def check_url_before_lookup(url: str, allowed_hosts: frozenset[str]) -> None:
    """What `fetch_to_file` would refuse that is known without a DNS lookup, so a request can
    be refused when it is made: the URL's form, and a host written as an IP address (in any
    spelling the resolver reads, such as `127.1`) that is not public. A host name is left to
    the fetch, which resolves and checks it on every hop."""
    target = check_url(url)
    try:
        # AI_NUMERICHOST parses an address as the fetch's resolver would, and never asks DNS.
        infos = socket.getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except socket.gaierror:
        return  # a name
    check_addresses(target.host, [str(info[4][0]) for info in infos], allowed_hosts)


def is_public_address(ip: str) -> bool:
    return non_public_reason(ip) is None


def non_public_reason(ip: str) -> str | None:
    """Why `ip` must not be fetched from, or None when it is a globally routable unicast address."""
    try:
        address = _embedded_ipv4(ipaddress.ip_address(ip))
    except ValueError:
        return "not an IP address"
    # is_global alone lets multicast and the reserved ::/8 (NAT64, IPv4-compatible) through.
    if address.is_global and not (address.is_multicast or address.is_reserved):
        return None
    for attribute, reason in _NON_PUBLIC_KINDS:
        if getattr(address, attribute):
            return reason
    return "not a globally routable address"


@dataclass(frozen=True)
class _Deadline:
    seconds: float
    at: float

    @classmethod
    def start(cls, seconds: float) -> _Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to already-checked addresses; the Host header still names the URL's host."""

    def __init__(self, target: Target, addresses: list[str], timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _open_socket(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to already-checked addresses; SNI and certificate checks use the URL's host."""

    def __init__(self, target: Target, addresses: list[str], timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._addresses = addresses
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        sock = _open_socket(self._addresses, self.port, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _follow_redirects(
    url: str, dest: Path, limits: FetchLimits, resolve: Resolver, deadline: _Deadline
) -> FetchResult:
    for _ in range(limits.max_redirects + 1):
        target = check_url(url)
        addresses = _resolve_once(url, target, resolve, deadline)
        check_addresses(target.host, addresses, limits.allowed_hosts)
        outcome = _fetch_hop(url, target, addresses, dest, limits, deadline)
        if isinstance(outcome, FetchResult):
            return outcome
        url = outcome
    raise _download_failed(f"too many redirects (more than {limits.max_redirects})")


def _resolve_once(url: str, target: Target, resolve: Resolver, deadline: _Deadline) -> list[str]:
    # The addresses returned here are the only ones ever connected to: resolving again
    # would let a rebinding DNS server swap in a private address after the check.
    with _network_errors(url, deadline):
        deadline.remaining()  # earlier hops may have spent the whole budget already
        addresses = resolve(target.host, target.port)
    if not addresses:
        raise _download_failed(f"host {target.host!r} did not resolve to any address")
    return addresses


def _fetch_hop(
    url: str,
    target: Target,
    addresses: list[str],
    dest: Path,
    limits: FetchLimits,
    deadline: _Deadline,
) -> FetchResult | str:
    """One request: the next URL when redirected, else the saved download."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    with _network_errors(url, deadline):
        connection = connection_class(target, addresses, deadline.remaining())
    with closing(connection):
        with _network_errors(url, deadline):
            connection.connect()
            # http.client forgets the socket once the server says it will close, but the
            # body reads still need their timeout shrunk to the remaining budget.
            sock = connection.sock
            sock.settimeout(deadline.remaining())
            connection.request("GET", target.request_path, headers={"User-Agent": USER_AGENT})
            response = connection.getresponse()
        with closing(response):
            location = response.getheader("Location")
            if response.status in REDIRECT_STATUSES and location:
                return urljoin(url, location)
            if not 200 <= response.status < 300:
                raise _download_failed(f"{url} answered HTTP {response.status} {response.reason}")
            size = _save_body(url, response, sock, dest, limits.max_bytes, deadline)
            return FetchResult(url, size, response.getheader("Content-Type"))


def _save_body(
    url: str,
    response: http.client.HTTPResponse,
    sock: socket.socket,
    dest: Path,
    max_bytes: int,
    deadline: _Deadline,
) -> int:
    declared = _content_length(response)
    if declared is not None and declared > max_bytes:
        raise _too_large(f"{url} declares {declared} bytes, over the {max_bytes}-byte limit")
    size = 0
    with dest.open("wb") as out:
        while chunk := _read_chunk(url, response, sock, deadline):
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(f"{url} is larger than the {max_bytes}-byte limit")
            out.write(chunk)
    if declared is not None and size < declared:
        raise _download_failed(f"{url} closed the connection after {size} of {declared} bytes")
    return size


def _read_chunk(
    url: str, response: http.client.HTTPResponse, sock: socket.socket, deadline: _Deadline
) -> bytes:
    with _network_errors(url, deadline):
        sock.settimeout(deadline.remaining())
        # read1 makes at most one socket read, so a server trickling bytes cannot
        # stretch a single call past the timeout just set.
        return response.read1(_CHUNK_BYTES)


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.getheader("Content-Length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _open_socket(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    """Connect to the first checked address that answers."""
    for ip in addresses[:-1]:
        try:
            return socket.create_connection((ip, port), timeout)
        except OSError:
            continue
    return socket.create_connection((addresses[-1], port), timeout)


@contextmanager
def _network_errors(url: str, deadline: _Deadline) -> Iterator[None]:
    try:
        yield
    except TimeoutError as exc:
        raise _download_failed(f"fetching {url} timed out after {deadline.seconds:g}s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _download_failed(f"fetching {url} failed: {exc}") from exc


def _embedded_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # ::ffff:10.0.0.1 and 6to4 2002:0a00:0001:: carry an IPv4 address that is what gets reached.
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise _not_allowed(f"host {host!r} is not a valid domain name") from exc


def _host_key(host: str) -> str:
    return host.lower().rstrip(".")


def _not_allowed(message: str) -> TroupeError:
    return TroupeError("url_not_allowed", message, param="url")


def _download_failed(message: str) -> TroupeError:
    return TroupeError("download_failed", message, param="url")


def _too_large(message: str) -> TroupeError:
    return TroupeError("file_too_large", message, param="url")
