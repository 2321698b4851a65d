"""shared.remote: which URLs and addresses are refused (SSRF), redirects checked hop by hop,
size and time limits, names of downloads. The resolver and the opener are injected; the
default opener is tried against servers on loopback (plain and TLS) to show that it connects
to the checked address while naming the original host."""

import contextlib
import datetime
import http.server
import io
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shared import remote
from shared.errors import MediaError
from shared.remote import Request

PUBLIC = "93.184.216.34"


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = "OK"
    delay: float = 0.0  # seconds each read takes
    block: int = 1024 * 1024
    reads: int = 0
    closed: bool = False

    def getheader(self, name: str, default: str | None = None) -> str | None:
        found = {k.lower(): v for k, v in self.headers.items()}
        return found.get(name.lower(), default)

    def read(self, amount: int) -> bytes:
        time.sleep(self.delay)
        start = self.reads * self.block
        self.reads += 1
        return self.body[start:start + min(amount, self.block)]

    def close(self) -> None:
        self.closed = True


class FakeWeb:
    """The opener: answers by "host/target" and remembers every request."""

    def __init__(self, pages: dict[str, FakeResponse]) -> None:
        self.pages = pages
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> FakeResponse:
        self.requests.append(request)
        return self.pages[request.host + request.target]


class FakeDns:
    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]


def fetch(url: str, web: FakeWeb | None = None, dns: FakeDns | None = None, **limits: Any) -> bytes:
    target = io.BytesIO()
    size = remote.fetch(url, target, resolver=dns or FakeDns({}), opener=web or FakeWeb({}), **limits)
    assert size == len(target.getvalue())
    return target.getvalue()


def refused(url: str, web: FakeWeb | None = None, dns: FakeDns | None = None, **limits: Any) -> str:
    with pytest.raises(MediaError) as caught:
        fetch(url, web, dns, **limits)
    return str(caught.value)


# ---------------------------------------------------------------- addresses


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.0.0.5", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.254", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("fd00:ec2::254", "the cloud metadata address"),
    ("169.254.170.2", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("240.0.0.1", "a private address"),
    ("100.64.0.1", "not a public address"),  # carrier-grade NAT
    ("::ffff:127.0.0.1", "a loopback address (IPv4 127.0.0.1 inside IPv6)"),
    ("::ffff:169.254.169.254", "the cloud metadata address (IPv4 169.254.169.254 inside IPv6)"),
    ("2002:a00:1::", "a private address (IPv4 10.0.0.1 inside IPv6)"),  # 6to4
    ("64:ff9b::a9fe:a9fe", "the cloud metadata address (IPv4 169.254.169.254 inside IPv6)"),  # NAT64
    ("not-an-address", "not an IP address"),
])
def test_addresses_that_are_refused(address: str, reason: str) -> None:
    assert remote.refusal(address) == reason


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address: str) -> None:
    assert remote.refusal(address) is None


@pytest.mark.parametrize(("url", "address", "reason"), [
    ("http://127.0.0.1/x.jpg", "127.0.0.1", "a loopback address"),
    ("http://127.0.0.1:8080/x.jpg", "127.0.0.1", "a loopback address"),
    ("http://[::1]/x.jpg", "::1", "a loopback address"),
    ("http://10.1.2.3/x.jpg", "10.1.2.3", "a private address"),
    ("https://172.16.5.4/x.jpg", "172.16.5.4", "a private address"),
    ("http://192.168.0.1/x.jpg", "192.168.0.1", "a private address"),
    ("http://169.254.169.254/latest/meta-data/iam.jpg", "169.254.169.254", "the cloud metadata address"),
    ("http://[fd00:ec2::254]/latest/x.jpg", "fd00:ec2::254", "the cloud metadata address"),
    ("http://[::ffff:7f00:1]/x.jpg", "::ffff:7f00:1", "a loopback address (IPv4 127.0.0.1 inside IPv6)"),
])
def test_address_literals_are_refused_before_any_lookup_or_connection(url: str, address: str, reason: str) -> None:
    dns, web = FakeDns({}), FakeWeb({})
    assert refused(url, web, dns) == f"{url}: refused, {address} is {reason}"
    assert dns.asked == [] and web.requests == []


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    dns, web = FakeDns({"images.example.com": ["10.0.0.5"]}), FakeWeb({})
    message = refused("https://images.example.com/y.jpg", web, dns)
    assert message == "https://images.example.com/y.jpg: refused, 10.0.0.5 is a private address"
    assert dns.asked == ["images.example.com"] and web.requests == []


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    dns = FakeDns({"mixed.example.com": [PUBLIC, "2606:4700::1111", "127.0.0.1"]})
    web = FakeWeb({})
    assert refused("http://mixed.example.com/a.png", web, dns).endswith("127.0.0.1 is a loopback address")
    assert web.requests == []


def test_a_name_that_does_not_resolve() -> None:
    message = refused("http://nowhere.example.com/a.png")
    assert message.startswith("Invalid URL: http://nowhere.example.com/a.png. nowhere.example.com cannot be resolved")
    assert refused("http://empty.example.com/a.png", dns=FakeDns({"empty.example.com": []})) == (
        "Invalid URL: http://empty.example.com/a.png. empty.example.com resolves to no address")


# ---------------------------------------------------------------- schemes and URL shape


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.jpg", "gopher://example.com/a.jpg",
                                 "data:image/png;base64,AAAA", "//example.com/a.jpg", "example.com/a.jpg"])
def test_only_http_and_https(url: str) -> None:
    web = FakeWeb({})
    message = refused(url, web)
    assert message.startswith(f"Invalid URL: {url}. only http and https URLs can be downloaded")
    assert web.requests == []
    assert remote.url_problem(url) is not None


@pytest.mark.parametrize(("url", "problem"), [
    ("http://x/a.jpg", "x is not a public host name"),
    ("http://localhost/a.jpg", "localhost is not a public host name"),
    ("http:///a.jpg", "it names no host"),
    ("http://example.com:99999/a.jpg", "Port out of range 0-65535"),
    ("http://example.com:0/a.jpg", "port 0 cannot be connected to"),
    ("http://example.com/a b.jpg", "spaces and control characters must be percent-encoded"),
    ("http://example.com/", "its path names no file"),
    ("http://example.com/photos/..", "its path names no file"),
    ("http://example.com/" + "a" * 300 + ".jpg", "its file name is longer than 255 characters"),
    ("http://example.com/" + "a" * 3000, "longer than 2048 characters"),
])
def test_url_problems_found_when_data_is_attached(url: str, problem: str) -> None:
    assert remote.url_problem(url) == problem


@pytest.mark.parametrize("url", ["https://images.example.com/a.jpg", "http://127.0.0.1:8080/x.jpg",
                                 "HTTP://Example.COM/photos/a%20b.jpg?size=large#top", "http://[2606:4700::1111]/a.jpg"])
def test_urls_accepted_when_data_is_attached(url: str) -> None:
    assert remote.url_problem(url) is None  # addresses are checked when the workflow downloads


@pytest.mark.parametrize(("url", "name"), [
    ("http://example.com/photos/cat.jpg", "cat.jpg"),
    ("http://example.com/photos/a%20b.jpg?size=large#top", "a b.jpg"),
    ("http://example.com/photos%2F..%2F..%2Fetc%2Fpasswd.jpg", "passwd.jpg"),
    ("http://example.com/a%5C..%5Cb.png", "b.png"),
    ("http://example.com/x%00y%0A.png", "xy.png"),
    ("http://example.com/frames/video", "video"),
])
def test_the_name_of_a_download_is_the_last_segment_of_the_path(url: str, name: str) -> None:
    assert remote.file_name(url) == name


# ---------------------------------------------------------------- redirects


def test_a_redirect_from_a_public_to_a_private_address_is_refused() -> None:
    dns = FakeDns({"cdn.example.com": [PUBLIC], "internal.example.com": ["192.168.0.10"]})
    web = FakeWeb({"cdn.example.com/a.jpg": FakeResponse(302, headers={"Location": "http://internal.example.com/a.jpg"})})
    message = refused("https://cdn.example.com/a.jpg", web, dns)
    assert message == ("https://cdn.example.com/a.jpg (redirected to http://internal.example.com/a.jpg): "
                       "refused, 192.168.0.10 is a private address")
    assert [r.host for r in web.requests] == ["cdn.example.com"]
    assert web.pages["cdn.example.com/a.jpg"].closed


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:9000/x"])
def test_a_redirect_to_an_internal_address_literal_is_refused(location: str) -> None:
    dns = FakeDns({"cdn.example.com": [PUBLIC]})
    web = FakeWeb({"cdn.example.com/a.jpg": FakeResponse(301, headers={"Location": location})})
    message = refused("http://cdn.example.com/a.jpg", web, dns)
    assert f"(redirected to {location}): refused, " in message and len(web.requests) == 1


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://cdn.example.com/a.jpg"])
def test_a_redirect_to_another_scheme_is_refused(location: str) -> None:
    dns = FakeDns({"cdn.example.com": [PUBLIC]})
    web = FakeWeb({"cdn.example.com/a.jpg": FakeResponse(307, headers={"Location": location})})
    assert refused("http://cdn.example.com/a.jpg", web, dns) == (
        f"http://cdn.example.com/a.jpg: refused, it redirects to {location}, which is not an http or https URL")


def test_redirects_are_followed_and_each_host_resolved_and_checked() -> None:
    dns = FakeDns({"short.example.com": [PUBLIC], "cdn.example.net": ["2606:4700::1111"]})
    web = FakeWeb({
        "short.example.com/x": FakeResponse(301, headers={"Location": "https://cdn.example.net/img/cat.jpg?v=2"}),
        "cdn.example.net/img/cat.jpg?v=2": FakeResponse(302, headers={"Location": "../other/cat.jpg"}),
        "cdn.example.net/other/cat.jpg": FakeResponse(200, b"meow" * 10),
    })
    assert fetch("http://short.example.com/x", web, dns) == b"meow" * 10
    assert dns.asked == ["short.example.com", "cdn.example.net", "cdn.example.net"]
    assert [(r.scheme, r.host, r.port, r.addresses) for r in web.requests] == [
        ("http", "short.example.com", 80, (PUBLIC,)),
        ("https", "cdn.example.net", 443, ("2606:4700::1111",)),
        ("https", "cdn.example.net", 443, ("2606:4700::1111",)),
    ]


def test_at_most_five_redirects() -> None:
    dns = FakeDns({"loop.example.com": [PUBLIC]})
    web = FakeWeb({f"loop.example.com/{i}": FakeResponse(302, headers={"Location": f"/{i + 1}"}) for i in range(7)})
    assert refused("http://loop.example.com/0", web, dns) == (
        "http://loop.example.com/0: refused, it redirects more than 5 times")
    assert len(web.requests) == 6


def test_a_redirect_without_location() -> None:
    dns = FakeDns({"cdn.example.com": [PUBLIC]})
    web = FakeWeb({"cdn.example.com/a.jpg": FakeResponse(302, reason="Found")})
    assert "a redirect without a Location" in refused("http://cdn.example.com/a.jpg", web, dns)


# ---------------------------------------------------------------- answers, size and time


def test_a_good_fetch_writes_the_body_and_asks_the_checked_address() -> None:
    body = bytes(range(256)) * 9000  # a little more than two reads
    dns = FakeDns({"images.example.com": [PUBLIC, "2606:4700::1111"]})
    web = FakeWeb({"images.example.com/photos/cat.jpg?size=large": FakeResponse(200, body)})
    assert fetch("https://images.example.com:8443/photos/cat.jpg?size=large#top", web, dns) == body
    (request,) = web.requests
    assert (request.scheme, request.host, request.port) == ("https", "images.example.com", 8443)
    assert request.target == "/photos/cat.jpg?size=large"
    assert request.addresses == (PUBLIC, "2606:4700::1111")
    assert dict(request.headers)["User-Agent"] == "Mozilla/5.0"
    assert 0 < request.timeout <= remote.TIMEOUT
    assert web.pages["images.example.com/photos/cat.jpg?size=large"].closed


def test_an_http_error_is_reported_as_cvat_words_it() -> None:
    dns = FakeDns({"images.example.com": [PUBLIC]})
    web = FakeWeb({"images.example.com/gone.jpg": FakeResponse(404, reason="Not Found")})
    assert refused("http://images.example.com/gone.jpg", web, dns) == (
        "Failed to download http://images.example.com/gone.jpg. 404 - Not Found")


def test_a_connection_failure() -> None:
    def unreachable(request: Request) -> FakeResponse:
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(MediaError, match=r"^Invalid URL: http://8\.8\.8\.8/a\.jpg\. \[Errno 111\] Connection refused"):
        remote.fetch("http://8.8.8.8/a.jpg", io.BytesIO(), resolver=FakeDns({}), opener=unreachable)


def test_too_large_by_its_content_length_is_refused_before_reading() -> None:
    dns = FakeDns({"big.example.com": [PUBLIC]})
    answer = FakeResponse(200, b"x" * 10, headers={"Content-Length": str(2 * 1024 ** 3)})
    web = FakeWeb({"big.example.com/a.mp4": answer})
    assert refused("http://big.example.com/a.mp4", web, dns) == (
        "http://big.example.com/a.mp4: refused, it is larger than the limit of 1 GB")
    assert answer.reads == 0 and answer.closed


def test_too_large_while_streaming_is_refused_and_no_more_is_written() -> None:
    dns = FakeDns({"big.example.com": [PUBLIC]})
    web = FakeWeb({"big.example.com/a.mp4": FakeResponse(200, b"x" * 5000, block=1000)})
    target = io.BytesIO()
    with pytest.raises(MediaError, match="larger than the limit of 3 KB"):
        remote.fetch("http://big.example.com/a.mp4", target, resolver=dns, opener=web, max_bytes=3072)
    assert len(target.getvalue()) <= 3072
    assert fetch("http://big.example.com/a.mp4", FakeWeb({"big.example.com/a.mp4": FakeResponse(
        200, b"x" * 3072, block=1000)}), dns, max_bytes=3072) == b"x" * 3072  # exactly the limit passes


def test_too_slow_is_stopped_at_the_time_limit() -> None:
    dns = FakeDns({"slow.example.com": [PUBLIC]})
    web = FakeWeb({"slow.example.com/a.jpg": FakeResponse(200, b"x" * 100, block=1, delay=0.02)})
    started = time.monotonic()
    assert refused("http://slow.example.com/a.jpg", web, dns, timeout=0.2) == (
        "http://slow.example.com/a.jpg: the download did not finish within the time limit of 0.2 s")
    assert time.monotonic() - started < 1


def test_a_timeout_of_the_connection_is_the_time_limit() -> None:
    def hangs(request: Request) -> FakeResponse:
        raise TimeoutError("timed out")

    with pytest.raises(MediaError, match="did not finish within the time limit of 30 s"):
        remote.fetch("http://8.8.8.8/a.jpg", io.BytesIO(), resolver=FakeDns({}), opener=hangs, timeout=30)


# ---------------------------------------------------------------- the default opener, on loopback


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []
    drip: float = 0.0

    def do_GET(self) -> None:
        Recorder.seen.append({"path": self.path, "host": self.headers["Host"], "agent": self.headers["User-Agent"]})
        body = b"0123456789" * 100
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        step = 100 if self.drip else len(body)
        for start in range(0, len(body), step):
            self.wfile.write(body[start:start + step])
            self.wfile.flush()
            time.sleep(self.drip)

    def log_message(self, *args: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up on purpose
            super().handle()


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    Recorder.seen, Recorder.drip = [], 0.0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_the_default_opener_connects_to_the_checked_address_and_names_the_host(
        server: http.server.ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # "images.invalid" resolves nowhere, so reaching the server proves nothing was looked up again
    monkeypatch.setattr(remote, "refusal", lambda address: None)  # loopback stands in for a public host
    port = server.server_address[1]
    dns = FakeDns({"images.invalid": ["127.0.0.1"]})
    target = io.BytesIO()
    size = remote.fetch(f"http://images.invalid:{port}/photos/a.jpg?v=1", target, resolver=dns)
    assert size == 1000 and target.getvalue() == b"0123456789" * 100
    assert Recorder.seen == [{"path": "/photos/a.jpg?v=1", "host": f"images.invalid:{port}", "agent": "Mozilla/5.0"}]


def test_the_default_opener_stops_a_server_that_drips(server: http.server.ThreadingHTTPServer) -> None:
    Recorder.drip = 0.1  # ten pieces of 100 bytes, a second in all
    request = Request("http", "images.invalid", server.server_address[1], "/a.jpg", ("127.0.0.1",), 0.35)
    answer = remote.open_pinned(request)
    received = b""
    with pytest.raises(TimeoutError):
        while block := answer.read(1 << 20):
            received += block
    answer.close()
    assert 0 < len(received) < 1000


def test_the_default_opener_tries_the_next_checked_address(server: http.server.ThreadingHTTPServer) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.2", 0))  # bound, not listening: refuses connections
    request = Request("http", "images.invalid", server.server_address[1], "/a.jpg", ("127.0.0.2", "127.0.0.1"), 5)
    answer = remote.open_pinned(request)
    assert answer.status == 200 and len(answer.read(1 << 20)) == 1000
    answer.close()
    closed.close()


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_the_default_opener_sends_the_host_name_over_tls_and_checks_the_certificate_for_it(
        server: http.server.ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert_file, key_file = _certificate(tmp_path, "images.invalid")
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert_file, key_file)
    names: list[str | None] = []
    served.sni_callback = lambda sock, name, context: names.append(name)
    server.socket = served.wrap_socket(server.socket, server_side=True)
    trusted = ssl.create_default_context(cafile=str(cert_file))
    monkeypatch.setattr(remote, "tls_context", lambda: trusted)
    port = server.server_address[1]

    answer = remote.open_pinned(Request("https", "images.invalid", port, "/a.jpg", ("127.0.0.1",), 5))
    assert answer.status == 200 and answer.read(1 << 20) == b"0123456789" * 100
    answer.close()
    assert names == ["images.invalid"] and Recorder.seen[0]["host"] == f"images.invalid:{port}"

    monkeypatch.setattr(remote, "refusal", lambda address: None)
    with pytest.raises(MediaError, match=r"^Invalid URL: https://other\.invalid:\d+/a\.jpg\. .*CERTIFICATE_VERIFY"):
        remote.fetch(f"https://other.invalid:{port}/a.jpg", io.BytesIO(),
                     resolver=FakeDns({"other.invalid": ["127.0.0.1"]}))


def test_the_default_resolver_answers_addresses() -> None:
    assert "127.0.0.1" in remote.resolve("localhost") or "::1" in remote.resolve("localhost")
    with pytest.raises(OSError):
        remote.resolve("no-such-host.invalid")
