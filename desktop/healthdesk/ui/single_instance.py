"""One window per database: a second `healthdesk` on the same database hands its snapshot
files (perhaps none) to the window already open, which comes to the front and imports
them, and the second process ends. A double-clicked snapshot opens where the agent is
already working, not in a second window reading the same file.

The window listens on a local socket (QLocalServer) named after the user and the
database's real path, in the user's runtime directory and open to the user only. A
message is one line of JSON, `{"files": [absolute paths]}`, answered by `ok`. A socket
left by a window that crashed answers nobody: the next window takes its place.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

#: How long a second process waits for the window to answer (ms): it answers from its
#: event loop, which an import or a dialog never blocks.
ANSWER_MS: Final = 3000
#: At most this many files in a message, and this many bytes in all.
MAX_FILES: Final = 1000
MAX_MESSAGE: Final = 1 << 20
_OK: Final = b"ok\n"


def server_name(db_path: Path) -> str:
    """The socket of the window open on `db_path`: one per user and database."""
    real = str(Path(db_path).expanduser().resolve())
    digest = hashlib.sha256(real.encode()).hexdigest()[:20]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = runtime if runtime and Path(runtime).is_dir() else tempfile.gettempdir()
    return str(Path(folder) / f"healthdesk-{os.getuid()}-{digest}")


def hand_over(name: str, files: Sequence[Path]) -> bool:
    """Give `files` to the window listening on `name`; False when no window answers."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(ANSWER_MS):
        return False
    try:
        paths = [str(Path(f).expanduser().resolve()) for f in files]
        socket.write(json.dumps({"files": paths}).encode() + b"\n")
        if not socket.waitForBytesWritten(ANSWER_MS):
            return False
        answer = b""
        while len(answer) < len(_OK) and socket.waitForReadyRead(ANSWER_MS):
            answer += bytes(socket.readAll().data())
        return answer == _OK
    finally:
        socket.abort()


def parse_message(data: bytes) -> list[Path]:
    """The files of a message; ValueError for anything that is not one."""
    try:
        message = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    files = message.get("files") if isinstance(message, dict) else None
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise ValueError("no list of files")
    if not all(isinstance(f, str) and f and "\0" not in f for f in files):
        raise ValueError("a file that is not a path")
    return [Path(f) for f in files]


class InstanceServer(QObject):
    """The window's end: `files_received(list[Path])` for each second start (an empty
    list: the agent started the app again, the window should come to the front).

    `listen()` returns False when another window already listens on the name."""

    files_received = Signal(list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        if self._server.listen(self.name):
            return True
        if hand_over(self.name, []):
            return False  # a live window holds the name
        QLocalServer.removeServer(self.name)  # left by a window that ended badly
        return self._server.listen(self.name)

    def close(self) -> None:
        self._server.close()

    def _on_new_connection(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_MESSAGE:
                socket.abort()
                self._forget(socket)
            else:
                self._buffers[socket] = data
            return
        line = data.split(b"\n", 1)[0]
        try:
            files = parse_message(line)
        except ValueError:
            socket.abort()
            self._forget(socket)
            return
        socket.write(_OK)
        socket.flush()
        socket.disconnectFromServer()
        self.files_received.emit(files)

    def _forget(self, socket: QLocalSocket) -> None:
        if self._buffers.pop(socket, None) is not None:
            socket.deleteLater()
