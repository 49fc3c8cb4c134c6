"""Misbehaving HTTP services on 127.0.0.1, for the client's bounds (and raw clients of ours).

`hostile_service(behaviour)` runs a tiny HTTP/1.1 server in a thread: for each request it
reads the head (at most 64 KiB), counts it, and calls `behaviour(number, target, writer,
hostile)`, an async function that writes whatever it likes and returns; the connection then closes.
Every behaviour is bounded (bytes and seconds, see the constants) and the server stops
when the `with` block ends, so a test never leaves a socket or a thread behind.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import orjson

#: No behaviour sends more than this, or for longer than this.
MAX_BYTES = 512 * 1024 * 1024
MAX_SECONDS = 30.0

Behaviour = Callable[[int, str, asyncio.StreamWriter, "Hostile"], Awaitable[None]]


@dataclass
class Hostile:
    """A running hostile service: its `url`, the `targets` requested, `sent` bytes."""

    url: str = ""
    targets: list[str] = field(default_factory=list)
    sent: int = 0
    #: Set when a behaviour stopped because the peer hung up.
    peer_closed: threading.Event = field(default_factory=threading.Event)


def head(status: str = "200 OK", **headers: str | int) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def json_answer(data: object, status: str = "200 OK", **headers: str | int) -> bytes:
    body = orjson.dumps(data)
    return head(status, Content_Type="application/json", Content_Length=len(body), **headers) + body


@contextmanager
def hostile_service(behaviour: Behaviour) -> Iterator[Hostile]:
    state = Hostile()
    ready = threading.Event()
    loop_box: list[asyncio.AbstractEventLoop] = []
    stop_box: list[asyncio.Event] = []

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), MAX_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        target = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1]
        state.targets.append(target)
        try:
            await asyncio.wait_for(
                behaviour(len(state.targets), target, writer, state), MAX_SECONDS
            )
        except (ConnectionError, TimeoutError):
            state.peer_closed.set()
        finally:
            with suppress(ConnectionError):
                writer.close()

    async def main() -> None:
        server = await asyncio.start_server(on_client, "127.0.0.1", 0, limit=64 * 1024)
        port = server.sockets[0].getsockname()[1]
        state.url = f"http://127.0.0.1:{port}"
        loop_box.append(asyncio.get_running_loop())
        stop = asyncio.Event()
        stop_box.append(stop)
        ready.set()
        async with server:
            await stop.wait()
            server.close()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="hostile", daemon=True)
    thread.start()
    ready.wait()
    try:
        yield state
    finally:
        loop_box[0].call_soon_threadsafe(stop_box[0].set)
        thread.join(MAX_SECONDS + 5)


async def send(writer: asyncio.StreamWriter, data: bytes, state: Hostile) -> None:
    writer.write(data)
    await writer.drain()
    state.sent += len(data)
