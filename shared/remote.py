"""Downloading `remote_files` (spec §5.1, §5.2 step 1) without letting a URL reach inside the
network the workflow runs in (SSRF).

A URL is fetched only over http or https, and only from public addresses: the host is resolved
here, every address it resolves to must be global (not private, loopback, link-local, multicast,
reserved, unspecified, nor the cloud metadata endpoints, also when written as IPv4 inside IPv6),
and the connection goes to a checked address, never through a second lookup (DNS rebinding)
while the request still names the original host (Host header, TLS server name). Redirects are
followed by hand and each hop is checked again. Size and total time are limited; a refusal is a
MediaError whose message names the URL and the reason, so it becomes the task's Failed message.

The lookup and the HTTP exchange are plain callables (`default_resolver`, `default_opener`) that
tests replace: these machines have no network but loopback.
"""

import http.client
import ipaddress
import posixpath
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urljoin, urlsplit

from shared.errors import MediaError

MAX_BYTES = 1024 ** 3  # one file; larger media go through upload slots or the share
TIMEOUT = 600.0  # seconds for all remote files of a task: Prepare has 900 s in all
MAX_REDIRECTS = 5
MAX_URL_LENGTH = 2048
MAX_NAME_LENGTH = 255
USER_AGENT = "Mozilla/5.0"  # as CVAT sends: some hosts refuse unknown agents
BLOCK = 1024 * 1024

_SCHEMES = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Request:
    """One GET to make: the host as named in the URL, and the checked addresses to connect to."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]
    timeout: float  # seconds left for the whole download
    headers: tuple[tuple[str, str], ...] = (("User-Agent", USER_AGENT), ("Accept", "*/*"))


class Response(Protocol):
    status: int
    reason: str

    def getheader(self, name: str, default: str | None = None) -> str | None: ...

    def read(self, amount: int) -> bytes: ...

    def close(self) -> None: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...


Resolver = Callable[[str], Sequence[str]]
Opener = Callable[[Request], Response]


# ---------------------------------------------------------------- URLs and names


def url_problem(url: str) -> str | None:
    """Why a URL can never be fetched (answered 400 when data is attached), or None. Addresses
    are not checked here: the host may resolve differently by the time the workflow runs."""
    problem = _shape_problem(url)
    if problem is not None:
        return problem
    try:
        file_name(url)
    except MediaError as error:
        return str(error)
    return None


def _shape_problem(url: str) -> str | None:
    """What makes any URL, given or redirected to, unusable before its host is looked up."""
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return "spaces and control characters must be percent-encoded"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return str(error)
    if parts.scheme.lower() not in _SCHEMES:
        return f"only http and https URLs can be downloaded, not {parts.scheme or 'a URL without a scheme'}"
    host = parts.hostname or ""
    if not host:
        return "it names no host"
    if port == 0:
        return "port 0 cannot be connected to"
    if _literal(host) is None and "." not in host.strip("."):
        return f"{host} is not a public host name"  # single labels resolve through local search domains
    return None


def file_name(url: str) -> str:
    """The local name of a download: the last segment of the URL's path, percent-decoded (as
    CVAT names it), without separators or control characters."""
    path = unquote(urlsplit(url).path).replace("\\", "/")
    name = "".join(c for c in posixpath.basename(path) if ord(c) >= 32 and ord(c) != 127).strip()
    if name in ("", ".", ".."):
        raise MediaError("its path names no file")
    if len(name) > MAX_NAME_LENGTH:
        raise MediaError(f"its file name is longer than {MAX_NAME_LENGTH} characters")
    return name


# ---------------------------------------------------------------- addresses


def refusal(text: str) -> str | None:
    """Why connecting to this address is refused ("a private address", ...), or None when it
    is a public one. IPv4 carried inside IPv6 (mapped, 6to4, Teredo, NAT64) is judged as IPv4."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if address in _METADATA:
        return "the cloud metadata address"
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = refusal(str(inner))
        return None if reason is None else f"{reason} (IPv4 {inner} inside IPv6)"
    for reason, matches in (
        ("a loopback address", address.is_loopback),
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
    ):
        if matches:
            return reason
    return None if address.is_global else "not a public address"


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def resolve(host: str) -> list[str]:
    """Every address the system resolver gives for a host name (IPv4 and IPv6)."""
    found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


# ---------------------------------------------------------------- the pinned connection


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to checked addresses only, while the request names the original host."""

    def __init__(self, host: str, port: int, addresses: tuple[str, ...], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses
        self.raw: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.raw = _connect(self.addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """The same over TLS: the certificate is checked against the host name of the URL (SNI)."""

    def __init__(self, host: str, port: int, addresses: tuple[str, ...], timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.addresses = addresses
        self.tls = context
        self.raw: socket.socket | None = None

    def connect(self) -> None:
        plain = _connect(self.addresses, self.port, self.timeout)
        try:
            self.sock = self.raw = self.tls.wrap_socket(plain, server_hostname=self.host)
        except BaseException:
            plain.close()
            raise


def _connect(addresses: tuple[str, ...], port: int, timeout: Any) -> socket.socket:
    """The first of the addresses that accepts a connection (no name is looked up here)."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as failed:
            error = failed
    raise error


class _PinnedResponse:
    """The response of a pinned connection whose reads never wait past the deadline: each read
    makes at most one system call, with the socket's timeout set to the time left."""

    def __init__(self, connection: _PinnedHTTP | _PinnedHTTPS, response: http.client.HTTPResponse,
                 deadline: float) -> None:
        self._connection = connection
        self._response = response
        self._deadline = deadline
        self.status = response.status
        self.reason = response.reason

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self._response.getheader(name, default)

    def read(self, amount: int) -> bytes:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        if self._connection.raw is not None:
            self._connection.raw.settimeout(left)
        block = self._response.read1(amount)
        if not block and self._response.length:
            raise http.client.IncompleteRead(b"", self._response.length)
        return block

    def close(self) -> None:
        self._response.close()
        self._connection.close()


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the system's trusted authorities (tests replace this)."""
    return ssl.create_default_context()


def open_pinned(request: Request) -> Response:
    """The default opener: one GET with http.client to the request's checked addresses."""
    deadline = time.monotonic() + request.timeout
    connection: _PinnedHTTP | _PinnedHTTPS
    if request.scheme == "https":
        connection = _PinnedHTTPS(request.host, request.port, request.addresses, request.timeout, tls_context())
    else:
        connection = _PinnedHTTP(request.host, request.port, request.addresses, request.timeout)
    try:
        connection.request("GET", request.target, headers=dict(request.headers))
        return _PinnedResponse(connection, connection.getresponse(), deadline)
    except BaseException:
        connection.close()
        raise


default_resolver: Resolver = resolve
default_opener: Opener = open_pinned


# ---------------------------------------------------------------- fetching


def fetch(url: str, target: Writable, *, resolver: Resolver | None = None, opener: Opener | None = None,
          max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT) -> int:
    """Downloads `url` into `target` (write(bytes)), following at most MAX_REDIRECTS redirects;
    returns the number of bytes written. Raises MediaError for anything refused or failed; the
    caller discards what was written then."""
    deadline = time.monotonic() + timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        request = _checked(url, current, resolver or default_resolver, _left(url, deadline, timeout))
        with _network_errors(url, timeout):
            response = (opener or default_opener)(request)
        try:
            if response.status in _REDIRECTS:
                current = _redirect(url, current, response)
                continue
            if not 200 <= response.status < 300:
                raise MediaError(f"Failed to download {url}. {response.status} - {response.reason}")
            return _stream(url, response, target, max_bytes, deadline, timeout)
        finally:
            response.close()
    raise MediaError(f"{url}: refused, it redirects more than {MAX_REDIRECTS} times")


def _checked(url: str, current: str, resolver: Resolver, timeout: float) -> Request:
    """The request for one hop, once its scheme, host and every address of the host pass."""
    problem = _shape_problem(current)
    if problem is not None:
        raise MediaError(f"Invalid URL: {_hop(url, current)}. {problem}")
    parts = urlsplit(current)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    addresses = _addresses(url, current, host, resolver)
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise MediaError(f"{_hop(url, current)}: refused, {address} is {reason}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Request(scheme, host, parts.port or _SCHEMES[scheme], target, tuple(addresses), timeout)


def _addresses(url: str, current: str, host: str, resolver: Resolver) -> list[str]:
    if _literal(host) is not None:
        return [host]
    try:
        found = list(resolver(host))
    except (OSError, UnicodeError) as error:
        raise MediaError(f"Invalid URL: {_hop(url, current)}. {host} cannot be resolved ({error})") from None
    if not found:
        raise MediaError(f"Invalid URL: {_hop(url, current)}. {host} resolves to no address")
    return found


def _hop(url: str, current: str) -> str:
    """The URL as a message names it: the one given, and where it redirected to if it did."""
    return url if current == url else f"{url} (redirected to {current})"


def _redirect(url: str, current: str, response: Response) -> str:
    location = response.getheader("Location")
    if not location:
        raise MediaError(f"Failed to download {url}. {response.status} - a redirect without a Location")
    following = urljoin(current, location.strip())
    scheme = urlsplit(following).scheme.lower()
    if scheme not in _SCHEMES:
        raise MediaError(f"{url}: refused, it redirects to {following}, which is not an http or https URL")
    return following


def _stream(url: str, response: Response, target: Writable, max_bytes: int, deadline: float,
            timeout: float) -> int:
    declared = response.getheader("Content-Length") or ""
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise MediaError(f"{url}: refused, it is larger than the limit of {_size(max_bytes)}")
    written = 0
    while True:
        _left(url, deadline, timeout)
        with _network_errors(url, timeout):
            block = response.read(BLOCK)
        if not block:
            return written
        written += len(block)
        if written > max_bytes:
            raise MediaError(f"{url}: refused, it is larger than the limit of {_size(max_bytes)}")
        target.write(block)


def _left(url: str, deadline: float, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise MediaError(_too_slow(url, timeout))
    return left


def _too_slow(url: str, timeout: float) -> str:
    seconds = f"{timeout:.0f}" if timeout >= 1 else f"{timeout:.1g}"
    return f"{url}: the download did not finish within the time limit of {seconds} s"


@contextmanager
def _network_errors(url: str, timeout: float) -> Iterator[None]:
    """Network failures as CVAT words them ("Invalid URL: <url>. <reason>"), timeouts apart."""
    try:
        yield
    except TimeoutError:
        raise MediaError(_too_slow(url, timeout)) from None
    except (OSError, http.client.HTTPException) as error:
        raise MediaError(f"Invalid URL: {url}. {str(error) or type(error).__name__}") from None


def _size(count: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if count >= scale:
            return f"{round(count / scale, 1):g} {unit}"
    return f"{count} bytes"
