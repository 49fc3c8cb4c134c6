"""The one owner of background work: newest wins, a gone owner hears nothing, no Qt object
travels to a worker, failures reach the message channel, shutdown drains, changes are
announced once."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from healthdesk.ui.operations import (
    Operations,
    QtObjectInWork,
    SynchronousOperations,
    Work,
)

WAIT_MS = 10_000


def blocked(gate: threading.Event, value: Any, work: Work) -> Any:
    """Work that holds its thread until `gate` opens (or it is cancelled)."""
    while not gate.wait(0.005):
        if work.cancelled():
            return None
    return value


def test_the_newest_request_of_a_purpose_wins(
    qtbot: QtBot, background_operations: Operations
) -> None:
    owner = QObject()
    gate = threading.Event()
    answers: list[str] = []
    background_operations.run(owner, "read", partial(blocked, gate, "old"), answers.append)
    background_operations.run(owner, "read", partial(blocked, gate, "new"), answers.append)
    gate.set()
    qtbot.waitUntil(lambda: not background_operations.busy(), timeout=WAIT_MS)
    assert answers == ["new"]


def test_other_purposes_and_owners_do_not_replace_each_other(
    qtbot: QtBot, background_operations: Operations
) -> None:
    first, second = QObject(), QObject()
    answers: list[str] = []
    for owner, purpose, value in ((first, "a", 1), (first, "b", 2), (second, "a", 3)):
        background_operations.run(owner, purpose, lambda _w, v=value: v, answers.append)
    qtbot.waitUntil(lambda: len(answers) == 3, timeout=WAIT_MS)
    assert sorted(answers) == [1, 2, 3]


@pytest.mark.lifetime
def test_an_owner_deleted_while_its_work_runs_hears_nothing(
    qtbot: QtBot, background_operations: Operations
) -> None:
    class Owner(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.answers: list[Any] = []

        def on_done(self, value: Any) -> None:
            self.answers.append(value)

    owner = Owner()
    gate = threading.Event()
    ran = threading.Event()
    finished = threading.Event()

    def work(w: Work) -> str:
        ran.set()
        try:
            return str(blocked(gate, "late", w))
        finally:
            finished.set()

    answers = owner.answers
    background_operations.run(owner, "read", work, owner.on_done)
    assert ran.wait(5), "the work never started"
    shiboken6.delete(owner)  # gone while its read runs: no wait for the worker
    assert not background_operations.busy()
    gate.set()
    assert finished.wait(5)
    QApplication.processEvents()  # the answer, had it been sent, arrives now
    assert answers == []


@pytest.mark.lifetime
def test_cancel_drops_the_answer_and_tells_the_work_to_stop(
    qtbot: QtBot, background_operations: Operations
) -> None:
    owner = QObject()
    gate = threading.Event()
    saw_cancel = threading.Event()
    started = threading.Event()
    answers: list[Any] = []

    def work(w: Work) -> None:
        started.set()
        while not w.cancelled():
            gate.wait(0.005)
        saw_cancel.set()

    background_operations.run(owner, "read", work, answers.append)
    assert started.wait(5)
    background_operations.cancel(owner)
    assert saw_cancel.wait(5)
    assert not background_operations.busy(owner)
    assert answers == []


def test_a_failure_without_a_callback_goes_to_the_message_channel(
    qtbot: QtBot, background_operations: Operations
) -> None:
    owner = QObject()

    def fail(_work: Work) -> None:
        raise OSError(2, "No such file or directory", "x.jsonl")

    with qtbot.waitSignal(background_operations.messages.status, timeout=WAIT_MS) as shown:
        background_operations.run(owner, "read", fail, lambda _v: None, what="read x")
    assert shown.args[0] == "Could not read x: x.jsonl: No such file or directory"


def test_a_failure_with_a_callback_gets_the_exception_without_its_traceback(
    qtbot: QtBot, background_operations: Operations
) -> None:
    owner = QObject()
    failures: list[BaseException] = []

    def fail(_work: Work) -> None:
        raise ValueError("bad")

    background_operations.run(owner, "read", fail, lambda _v: None, failed=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert isinstance(failures[0], ValueError)
    assert failures[0].__traceback__ is None


def test_progress_reaches_the_gui_thread_in_order(
    qtbot: QtBot, background_operations: Operations
) -> None:
    owner = QObject()
    seen: list[tuple[int, bool]] = []
    main = threading.get_ident()

    def work(w: Work) -> int:
        for step in range(5):
            w.progress(step)
        return 5

    done: list[int] = []
    background_operations.run(
        owner,
        "import",
        work,
        done.append,
        progress=lambda v: seen.append((v, threading.get_ident() == main)),
    )
    qtbot.waitUntil(lambda: done == [5], timeout=WAIT_MS)
    assert seen == [(step, True) for step in range(5)]


def test_the_newest_request_is_served_first(qtbot: QtBot) -> None:
    operations = Operations(threads=1)
    try:
        owner = QObject()
        gate = threading.Event()
        order: list[str] = []
        operations.run(owner, "first", partial(blocked, gate, "first"), order.append)
        for name in ("second", "third", "fourth"):
            operations.run(owner, name, lambda _w, n=name: n, order.append)
        gate.set()
        qtbot.waitUntil(lambda: len(order) == 4, timeout=WAIT_MS)
        assert order == ["first", "fourth", "third", "second"]
    finally:
        assert operations.shutdown()


def test_work_that_carries_a_qt_object_is_refused(operations: Operations) -> None:
    owner = QObject()
    widget_like = QObject()
    with pytest.raises(QtObjectInWork, match="QObject"):
        operations.run(owner, "x", lambda _w: widget_like.objectName(), lambda _v: None)

    class Model(QObject):
        def read(self, _work: Work) -> int:
            return 1

    with pytest.raises(QtObjectInWork):
        operations.run(owner, "x", Model().read, lambda _v: None)
    with pytest.raises(QtObjectInWork):
        operations.run(owner, "x", partial(lambda o, _w: o, owner), lambda _v: None)


@pytest.mark.lifetime
def test_shutdown_cancels_drains_and_refuses_new_work(qtbot: QtBot) -> None:
    operations = Operations()
    owner = QObject()
    gate = threading.Event()
    started = threading.Event()
    stopped = threading.Event()
    answers: list[Any] = []

    def work(w: Work) -> None:
        started.set()
        while not w.cancelled():
            gate.wait(0.005)
        stopped.set()

    operations.run(owner, "long", work, answers.append)
    assert started.wait(5)
    assert operations.shutdown()  # returns once the work has seen the cancel and ended
    assert stopped.is_set()
    assert not operations.run(owner, "again", lambda _w: 1, answers.append)
    QApplication.processEvents()  # an answer, had it been sent, arrives now
    assert answers == []
    operations.deleteLater()


def test_changes_are_announced_once_per_connection_when_coalesced(
    qtbot: QtBot, operations: Operations
) -> None:
    seen: list[str] = []
    operations.changed.connect(seen.append)
    operations.notify_changed("c-1")
    assert seen == ["c-1"]
    with qtbot.waitSignal(operations.changed, timeout=WAIT_MS):
        for _ in range(20):
            operations.notify_changed("c-2", coalesce=True)
            operations.notify_changed("c-3", coalesce=True)
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=WAIT_MS)
    assert seen == ["c-1", "c-2", "c-3"]


def test_the_synchronous_runner_answers_before_run_returns() -> None:
    operations = SynchronousOperations()
    owner = QObject()
    answers: list[int] = []
    progress: list[int] = []

    def work(w: Work) -> int:
        w.progress(1)
        return 42

    assert operations.run(owner, "x", work, answers.append, progress=progress.append)
    assert answers == [42]
    assert progress == [1]
    assert not operations.busy()
    operations.shutdown()
