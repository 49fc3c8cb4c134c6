"""Start-up time of a command, cold (its files evicted from the page cache) and warm.

    python3 packaging/startup_time.py --evict dist/healthdesk -- dist/healthdesk/healthdesk --help
    python3 packaging/startup_time.py --evict .venv --evict "$(.venv/bin/python -c \
        'import sys; print(sys.base_prefix)')" -- .venv/bin/healthdesk --help

"Cold" evicts only the files under each --evict folder (posix_fadvise DONTNEED on every
file), not the whole page cache: the system's own libraries (libc, libGL, fonts) stay
warm, as on a desktop that is already running. Each figure is the median of --runs runs,
in a clean environment (no venv on PATH, HOME a temporary folder, Qt offscreen).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def evict(folder: Path) -> int:
    count = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                count += 1
            finally:
                os.close(fd)
    return count


def run_once(command: list[str], home: str) -> float:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
    }
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evict", action="append", default=[], type=Path, metavar="DIR")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    with tempfile.TemporaryDirectory(prefix="startup-") as home:
        cold = []
        for _ in range(args.runs):
            for folder in args.evict:
                evict(folder)
            cold.append(run_once(command, home))
        warm = [run_once(command, home) for _ in range(args.runs)]
    print(
        f"cold {statistics.median(cold) * 1000:.0f} ms, warm {statistics.median(warm) * 1000:.0f}"
        f" ms (median of {args.runs}): {' '.join(command)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
