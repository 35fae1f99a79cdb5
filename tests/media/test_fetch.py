"""Tests for the SSRF-safe URL fetcher, against real HTTP and TLS servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from troupe.errors import TroupeError
from troupe.media.fetch import (
    FetchLimits,
    check_url,
    fetch_to_file,
    is_public_address,
    resolve_host,
)

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20
LIMIT = 10_000
REQ_ARGS = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=sni.test"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.hosts.append(self.headers["Host"])
        self.server.user_agents.append(self.headers["User-Agent"])
        parts = urlsplit(self.path)
        route = self._routes().get(parts.path)
        if route is None:
            self._reply(404, b"not found")
            return
        # The client hangs up on purpose when it hits a size or time limit.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(parse_qs(parts.query))

    def _routes(self) -> dict[str, Callable[[dict[str, list[str]]], None]]:
        return {
            "/video": lambda _: self._reply(200, VIDEO, "video/mp4"),
            "/redirect-to": lambda query: self._redirect(query["url"][0]),
            "/loop": lambda _: self._redirect("/loop"),
            "/status/404": lambda _: self._reply(404, b"missing"),
            "/big": lambda _: self._stream(LIMIT * 100, declare=False),
            "/big-declared": lambda _: self._stream(LIMIT * 100, declare=True),
            "/truncated": self._truncated,
            "/slow": self._slow,
            "/drip": self._drip,
        }

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stream(self, size: int, declare: bool) -> None:
        self.send_response(200)
        if declare:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        for _ in range(size // 1000):
            self.wfile.write(b"x" * 1000)

    def _truncated(self, _: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 10)

    def _slow(self, _: dict[str, list[str]]) -> None:
        time.sleep(3)
        self._reply(200, VIDEO)

    def _drip(self, _query: dict[str, list[str]]) -> None:
        # Each byte arrives well within any single socket timeout; only the overall budget stops it.
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.1)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hosts: list[str] = []
        self.user_agents: list[str] = []


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def port(server: _Server) -> int:
    return server.server_address[1]


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "download.mp4"


def limits(
    allowed: frozenset[str] = frozenset({"127.0.0.1"}),
    max_bytes: int = LIMIT,
    timeout: float = 5.0,
    max_redirects: int = 3,
) -> FetchLimits:
    return FetchLimits(max_bytes, timeout, max_redirects, allowed)


def fails(
    code: str, url: str, dest: Path, fetch_limits: FetchLimits, **kwargs: object
) -> TroupeError:
    """Run a fetch that must fail with `code`, and check it left no file behind."""
    with pytest.raises(TroupeError) as info:
        fetch_to_file(url, dest, fetch_limits, **kwargs)  # type: ignore[arg-type]
    assert info.value.code == code, info.value.message
    assert info.value.param == "url"
    assert not dest.exists()
    return info.value


class CountingResolver:
    """A DNS stand-in: answers from a script and records every lookup."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def test_downloads_from_allowed_host(server: _Server, port: int, dest: Path) -> None:
    url = f"http://127.0.0.1:{port}/video"
    result = fetch_to_file(url, dest, limits())
    assert dest.read_bytes() == VIDEO
    assert (result.final_url, result.size, result.content_type) == (url, len(VIDEO), "video/mp4")
    assert server.user_agents[-1].startswith("troupe/")


def test_allowed_hosts_compare_case_insensitively(port: int, dest: Path) -> None:
    fetch_to_file(f"http://LOCALHOST:{port}/video", dest, limits(frozenset({"LocalHost"})))
    assert dest.read_bytes() == VIDEO


def test_loopback_refused_without_allow_list(port: int, dest: Path) -> None:
    error = fails("url_not_allowed", f"http://127.0.0.1:{port}/video", dest, limits(frozenset()))
    assert "127.0.0.1" in error.message
    assert "loopback" in error.message
    assert "adding '127.0.0.1' to TROUPE_ALLOWED_HOSTS" in error.message, "names the way out"


@pytest.mark.parametrize(
    ("host", "resolved"),
    [
        ("localhost", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("100.64.0.1", "100.64.0.1"),
        ("10.0.0.1", "10.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
    ],
)
def test_non_public_spellings_refused(host: str, resolved: str, port: int, dest: Path) -> None:
    # Real resolution: every one of these is answered locally, without DNS traffic.
    error = fails("url_not_allowed", f"http://{host}:{port}/video", dest, limits(frozenset()))
    assert f"'{host.strip('[]')}'" in error.message
    assert f"resolves to {resolved}," in error.message


def test_dns_name_resolving_to_private_range_refused(dest: Path) -> None:
    resolver = CountingResolver(["10.1.2.3"])
    error = fails(
        "url_not_allowed", "http://intranet.example/v.mp4", dest, limits(), resolve=resolver
    )
    assert "intranet.example" in error.message and "10.1.2.3" in error.message
    assert "private" in error.message


def test_any_private_address_among_several_refuses(dest: Path) -> None:
    resolver = CountingResolver(["8.8.8.8", "10.0.0.7"])
    error = fails("url_not_allowed", "http://mixed.example/v.mp4", dest, limits(), resolve=resolver)
    assert "10.0.0.7" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/video",
        "gopher://127.0.0.1:70/_x",
        "javascript:alert(1)",
        "http:///video",
        "http://user:secret@127.0.0.1/video",
        "http://127.0.0.1:99999/video",
        "http://[::1/video",
        "http://127.0.0.1/a video",
    ],
)
def test_malformed_or_non_http_urls_refused(url: str, dest: Path) -> None:
    fails("url_not_allowed", url, dest, limits())


def test_follows_relative_redirect(port: int, dest: Path) -> None:
    result = fetch_to_file(f"http://127.0.0.1:{port}/redirect-to?url=/video", dest, limits())
    assert result.final_url == f"http://127.0.0.1:{port}/video"
    assert dest.read_bytes() == VIDEO


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.1:{port}/video", "http://localhost:{port}/video", "file:///etc/passwd"],
)
def test_redirect_to_non_allowed_target_refused(target: str, port: int, dest: Path) -> None:
    location = quote(target.format(port=port), safe="")
    url = f"http://127.0.0.1:{port}/redirect-to?url={location}"
    fails("url_not_allowed", url, dest, limits())


def test_redirect_limit(port: int, dest: Path) -> None:
    error = fails("download_failed", f"http://127.0.0.1:{port}/loop", dest, limits(max_redirects=3))
    assert "too many redirects" in error.message


def test_zero_redirects_allowed(port: int, dest: Path) -> None:
    url = f"http://127.0.0.1:{port}/redirect-to?url=/video"
    fails("download_failed", url, dest, limits(max_redirects=0))


def test_http_error_status(port: int, dest: Path) -> None:
    error = fails("download_failed", f"http://127.0.0.1:{port}/status/404", dest, limits())
    assert "404" in error.message


@pytest.mark.parametrize("path", ["/big", "/big-declared"])
def test_size_limit(path: str, port: int, dest: Path) -> None:
    error = fails("file_too_large", f"http://127.0.0.1:{port}{path}", dest, limits())
    assert error.status == 413
    assert str(LIMIT) in error.message


def test_failure_removes_existing_dest(port: int, dest: Path) -> None:
    dest.write_bytes(b"stale")
    fails("file_too_large", f"http://127.0.0.1:{port}/big", dest, limits())


def test_truncated_body(port: int, dest: Path) -> None:
    error = fails("download_failed", f"http://127.0.0.1:{port}/truncated", dest, limits())
    assert "10 of 1000" in error.message


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_timeout_is_a_total_budget(path: str, port: int, dest: Path) -> None:
    error = fails("download_failed", f"http://127.0.0.1:{port}{path}", dest, limits(timeout=0.5))
    assert "timed out after 0.5s" in error.message


def test_connection_refused(dest: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    fails("download_failed", f"http://127.0.0.1:{closed_port}/video", dest, limits())


def test_dns_failure(dest: Path) -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    fails("download_failed", "http://nowhere.example/", dest, limits(), resolve=no_such_host)
    fails("download_failed", "http://nowhere.example/", dest, limits(), resolve=lambda h, p: [])


def test_connects_to_checked_address_without_resolving_again(
    server: _Server, port: int, dest: Path
) -> None:
    # A rebinding DNS server answers 127.0.0.1 once, then something else.
    resolver = CountingResolver(["127.0.0.1"], ["192.0.2.1"])
    allowed = frozenset({"rebind.test"})
    fetch_to_file(f"http://rebind.test:{port}/video", dest, limits(allowed), resolve=resolver)
    assert dest.read_bytes() == VIDEO
    assert resolver.calls == [("rebind.test", port)]
    assert server.hosts[-1] == f"rebind.test:{port}"


def test_each_redirect_hop_resolved_once(server: _Server, port: int, dest: Path) -> None:
    resolver = CountingResolver(["127.0.0.1"])
    allowed = frozenset({"first.test", "second.test"})
    next_hop = quote(f"http://second.test:{port}/video", safe="")
    url = f"http://first.test:{port}/redirect-to?url={next_hop}"
    result = fetch_to_file(url, dest, limits(allowed), resolve=resolver)
    assert result.final_url == f"http://second.test:{port}/video"
    assert resolver.calls == [("first.test", port), ("second.test", port)]
    assert server.hosts[-2:] == [f"first.test:{port}", f"second.test:{port}"]


def test_https_to_plain_http_server_fails(port: int, dest: Path) -> None:
    fails("download_failed", f"https://127.0.0.1:{port}/video", dest, limits())


@pytest.fixture
def tls_listener(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    """A TLS server with a self-signed certificate that records the SNI name it is sent."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, *REQ_ARGS.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str] = []
    context.sni_callback = lambda _sock, name, _context: names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))

    def handshake_once() -> None:
        conn, _ = listener.accept()
        # The client rejects the self-signed certificate, so the handshake always fails here.
        with conn, contextlib.suppress(OSError):
            context.wrap_socket(conn, server_side=True)

    thread = threading.Thread(target=handshake_once, daemon=True)
    thread.start()
    yield listener.getsockname()[1], names
    thread.join(5)
    listener.close()


def test_https_sends_sni_and_verifies_certificate(
    tls_listener: tuple[int, list[str]], dest: Path
) -> None:
    tls_port, names = tls_listener
    resolver = CountingResolver(["127.0.0.1"])
    url = f"https://sni.test:{tls_port}/video"
    error = fails("download_failed", url, dest, limits(frozenset({"sni.test"})), resolve=resolver)
    assert "CERTIFICATE_VERIFY_FAILED" in error.message
    assert names == ["sni.test"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2001:4860:4860::8888", True),
        ("2002:808:808::", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("2002:7f00:1::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
        ("not-an-ip", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_resolve_host_returns_unique_addresses() -> None:
    addresses = resolve_host("127.0.0.1", 80)
    assert addresses == ["127.0.0.1"]


def test_check_url_keeps_escaping_and_encodes_non_ascii() -> None:
    target = check_url("HTTPS://Example.COM/a%20b/caf\u00e9?x=1#frag")
    assert (target.scheme, target.host, target.port) == ("https", "example.com", 443)
    assert target.request_path == "/a%20b/caf%C3%A9?x=1"
