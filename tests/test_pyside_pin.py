"""Regression guard for the PySide6 6.12.0 / CPython 3.11 crash (pyproject.toml says why).

PySide6 6.12.0 on CPython 3.11 drops one reference of `None` in every call of a void Qt
method (`update()`, `processEvents()`, `fetchMore()`...); after ~5,000 calls None's
refcount reaches zero and the interpreter aborts with "Fatal Python error: none_dealloc".
pyproject.toml pins PySide6 below 6.12 on Python < 3.12 (None is immortal from 3.12 on).

The calls run in a subprocess, so that an abort fails one test with the child's stderr
instead of killing the whole test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: Loop iterations; each makes three void Qt calls, so 60,000 calls in all (the bug
#: aborts after ~5,000).
ITERATIONS = 20_000

#: The child: a shown widget, a model, and ITERATIONS rounds of void calls. Prints the
#: refcount of None before and after, as JSON, on its last line.
CHILD = """
import json
import sys

from PySide6.QtCore import QCoreApplication, QModelIndex
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QApplication, QWidget

iterations = int(sys.argv[1])
app = QApplication([])
widget = QWidget()
widget.resize(64, 32)
widget.show()
model = QStandardItemModel(2, 2)
root = QModelIndex()
QCoreApplication.processEvents()

before = sys.getrefcount(None)
for _ in range(iterations):
    widget.update()
    QCoreApplication.processEvents()
    model.fetchMore(root)
after = sys.getrefcount(None)

widget.close()
print(json.dumps({"before": before, "after": after}))
"""


@pytest.fixture(scope="module")
def void_calls() -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(ITERATIONS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _explain(proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{ITERATIONS * 3} void Qt calls in a subprocess ended with exit code "
        f"{proc.returncode} (PySide6 6.12.0 on Python 3.11 aborts with 'none_dealloc'; "
        f"see the pin's comment in pyproject.toml)\n--- stderr ---\n{proc.stderr[-4000:]}\n"
        f"--- stdout ---\n{proc.stdout[-2000:]}"
    )


def test_many_void_qt_calls_do_not_abort(void_calls: subprocess.CompletedProcess[str]) -> None:
    assert void_calls.returncode == 0, _explain(void_calls)


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="None is immortal from Python 3.12: its refcount is fixed"
)
def test_void_qt_calls_do_not_drop_references_of_none(
    void_calls: subprocess.CompletedProcess[str],
) -> None:
    assert void_calls.returncode == 0, _explain(void_calls)
    counts = json.loads(void_calls.stdout.strip().splitlines()[-1])
    lost = counts["before"] - counts["after"]
    # A leak of one reference per call would lose 60,000; allow ordinary drift.
    assert lost < 1_000, f"None lost {lost} references over {ITERATIONS * 3} void Qt calls"


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="the crash needs a mortal None (Python < 3.12)"
)
def test_pyside6_612_is_not_installed_on_python_311() -> None:
    import PySide6
    import shiboken6

    for name, version in (("PySide6", PySide6.__version__), ("shiboken6", shiboken6.__version__)):
        assert not version.startswith("6.12."), (
            f"{name} {version} on Python {sys.version.split()[0]}: 6.12.0 aborts CPython 3.11 "
            "('none_dealloc'); keep the pin in pyproject.toml (PySide6-Essentials==6.11.3 "
            "for python_version < '3.12') until a fixed release passes this file's "
            "subprocess test"
        )
