"""Import benchmark: now `healthdesk bench` (healthdesk/bench/), kept under its old name.

    .venv/bin/python -m tests.benchmarks.import_speed --contacts 1000000

The same as `healthdesk bench --contacts N`: the floor, the import, re-imports (unchanged,
1% changed), peak memory, database size and the pull, each in a child process.
"""

from __future__ import annotations

import argparse
import sys

from healthdesk.bench.command import add_arguments, run


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(), sys.stdout)


if __name__ == "__main__":
    main()
