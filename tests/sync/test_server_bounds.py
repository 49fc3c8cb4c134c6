"""`healthdesk serve` against clients that misbehave: raw sockets on 127.0.0.1.

Idle, trickling and keep-alive sockets are closed; a body is refused unread; long-polls
are capped per token; nothing is kept of unauthenticated requests; a malformed request
gets its status and one log line.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from healthdesk.sync.server import RunningService, running_service
from tests.helpers.feed import connection, record, write

TOKEN = "s3cret-token"
IDLE = 0.5


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    snap = write(tmp_path / "s.jsonl", [connection(), record("a", "1")])
    with running_service(snapshots=[snap], token=TOKEN, idle_timeout=IDLE, max_polls=2) as handle:
        yield handle


def dial(service: RunningService) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=30)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the service sends until it closes (the socket timeout bounds it)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def request(path: str, *, token: str | None = TOKEN, extra: str = "") -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}{extra}\r\n".encode()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_silent_connection_is_closed(service: RunningService) -> None:
    with dial(service) as sock:
        assert read_until_closed(sock) == b""


def test_a_trickled_head_is_closed_before_it_ends(service: RunningService) -> None:
    with dial(service) as sock:
        sock.sendall(b"GET /v1/connections HTTP/1.1\r\n")
        closed = threading.Event()
        sent = 0
        # One header byte at a time, each once the previous has had time to be read;
        # the service closes long before the 10,000 bytes are through.
        try:
            for _ in range(10_000):
                sock.sendall(b"X")
                sent += 1
                sock.settimeout(0.05)
                try:
                    if sock.recv(1) == b"":
                        closed.set()
                        break
                except TimeoutError:
                    continue
        except OSError:
            closed.set()
        assert closed.is_set()
        assert sent < 10_000


def test_an_idle_keep_alive_connection_is_closed(service: RunningService) -> None:
    with dial(service) as sock:
        sock.sendall(request("/v1/connections"))
        answer = read_until_closed(sock)
    assert status_of(answer) == 200
    assert answer.count(b"HTTP/1.1 ") == 1


def test_a_request_body_is_refused_unread(service: RunningService) -> None:
    with dial(service) as sock:
        sock.sendall(request("/v1/connections", extra="Content-Length: 1000000000\r\n"))
        sock.sendall(b"x" * 1000)
        answer = read_until_closed(sock)
    assert status_of(answer) == 413
    assert b"body_not_allowed" in answer


def test_long_polls_are_capped_per_token(service: RunningService) -> None:
    cursor = service.service.cursor("c-1", service.service.size("c-1"))
    poll = request(f"/v1/connections/c-1/feed?after={cursor}&wait=30")
    holders = [dial(service) for _ in range(2)]
    try:
        for sock in holders:
            sock.sendall(poll)
        # The service records a request once authenticated: wait for both to be held.
        while sum("wait=30" in line for line in service.requests) < 2:
            threading.Event().wait(0.01)
        with dial(service) as third:
            third.sendall(poll)
            answer = third.recv(65536)
        assert status_of(answer) == 429
        assert b"Retry-After: 1" in answer
        assert b"too_many_polls" in answer
        # New items answer the held polls; then a poll is taken again.
        service.service.append("c-1", [record("a", "2")])
        for sock in holders:
            assert status_of(sock.recv(65536)) == 200
    finally:
        for sock in holders:
            sock.close()
    with dial(service) as sock:
        sock.sendall(request(f"/v1/connections/c-1/feed?after={cursor}"))
        assert status_of(sock.recv(65536)) == 200


def test_unauthenticated_requests_keep_only_a_short_line(service: RunningService) -> None:
    long_path = "/v1/connections?" + "q" * 8000
    for token in (None, "wrong"):
        for _ in range(50):
            with dial(service) as sock:
                sock.sendall(request(long_path, token=token, extra="Connection: close\r\n"))
                assert status_of(read_until_closed(sock)) == 401
    assert set(service.requests) == {"GET /v1/connections [unauthorized]"}
    with dial(service) as sock:
        sock.sendall(request(long_path, extra="Connection: close\r\n"))
        assert status_of(read_until_closed(sock)) == 200
    assert len(service.requests[-1]) == 300


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /v1/connections HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET /v1/connections HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /v1/connections HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_request_gets_its_status_and_one_log_line(
    service: RunningService, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with dial(service) as sock:
        sock.sendall(raw)
        answer = read_until_closed(sock)
    assert 400 <= status_of(answer) < 500
    mine = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(mine) <= 1
    assert all(r.exc_info is None and "Traceback" not in r.getMessage() for r in caplog.records)
    assert all("\n" not in r.getMessage() for r in mine)


def test_the_token_never_reaches_the_log(
    service: RunningService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with dial(service) as sock:
        sock.sendall(f"GET /v1/x HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\nBad\r\n\r\n".encode())
        read_until_closed(sock)
    assert caplog.records  # the malformed request was logged, without the token
    assert TOKEN not in caplog.text
