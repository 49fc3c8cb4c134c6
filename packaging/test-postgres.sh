#!/usr/bin/env bash
# A throw-away PostgreSQL server for the test suite, as .ci/run uses it:
#
#   eval "$(bash packaging/test-postgres.sh start)"   # sets HEALTHDESK_TEST_POSTGRES
#   .venv/bin/python -m pytest                          # every store test on both backends
#   bash packaging/test-postgres.sh stop "$HEALTHDESK_TEST_POSTGRES"
#
# `start` makes a new cluster (initdb) in a temporary folder and starts it on a free local
# port, its socket in that folder, trusting local connections only; as root it runs as the
# `postgres` user (PostgreSQL refuses root). Needs Debian's postgresql package (bootstrap.sh
# --dev installs it) and .venv. Without it, pytest starts such a server itself.
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
case "${1:-}" in
    start) .venv/bin/python -m tests.helpers.postgres start | sed 's/^/export /' ;;
    stop) .venv/bin/python -m tests.helpers.postgres stop "${2:?stop needs the URL start gave}" ;;
    *)
        echo "usage: bash packaging/test-postgres.sh start | stop URL" >&2
        exit 2
        ;;
esac
