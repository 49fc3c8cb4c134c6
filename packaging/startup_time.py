"""Start-up time of a command, cold (its files evicted from the page cache) and warm.

    python3 packaging/startup_time.py --evict dist/healthdesk -- dist/healthdesk/healthdesk --help
    python3 packaging/startup_time.py --evict .venv --evict "$(.venv/bin/python -c \
        'import sys; print(sys.base_prefix)')" -- .venv/bin/healthdesk --help

"Cold" evicts only the files under each --evict folder (posix_fadvise DONTNEED on every
file), not the whole page cache: the system's own libraries (libc, libGL, fonts) stay
warm, as on a desktop that is already running. Each figure is the median of --runs runs
(wall clock, and CPU time, which a busy machine disturbs less), in a clean environment
(no venv on PATH, HOME a temporary folder, Qt offscreen).
"""

from __future__ import annotations

import argparse
import os
import resource
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


def run_once(command: list[str], home: str) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one run."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


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

    def ms(runs: list[tuple[float, float]], which: int) -> str:
        return f"{statistics.median(run[which] for run in runs) * 1000:.0f}"

    print(
        f"cold {ms(cold, 0)} ms (cpu {ms(cold, 1)}), warm {ms(warm, 0)} ms (cpu {ms(warm, 1)})"
        f", medians of {args.runs}: {' '.join(command)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
