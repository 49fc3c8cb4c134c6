#!/usr/bin/env bash
# Health Desk: the one set-up script, for a fresh Debian 12 machine and for every run after.
#
#   bash packaging/bootstrap.sh          # system libraries Qt needs, .venv, the app
#   bash packaging/bootstrap.sh --dev    # the same plus the test and dev tools
#
# Steps (one line of output each):
#   1. finds a Python >= 3.11 (python3.11, then python3; or $PYTHON);
#   2. installs the Debian packages Qt needs (and python3-venv when venv is unusable), only
#      those missing, with --no-install-recommends; apt-get update only when something is
#      missing; as root, or through sudo; skipped with a message on a non-Debian system or
#      without root or sudo;
#   3. creates .venv at the repository root (or reuses a working one);
#   4. upgrades pip and runs `pip install -e .` (`-e '.[dev]'` with --dev), unless
#      .venv/.bootstrap-stamp says this pyproject.toml is already installed that way.
# A second run changes nothing and takes a second or two. Works from any directory.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bash packaging/bootstrap.sh [--dev] [--help]

Sets up Health Desk on this machine: the Debian packages Qt needs (when missing), a
virtual environment in .venv at the repository root, and the app installed in it in
editable mode. Safe to run again: it only does what is missing.

Options:
  --dev    also install the test and development tools: pip install -e '.[dev]'
           (pytest, pytest-qt, jsonschema, ruff, mypy...) and the freedesktop
           validators the packaging tests run (Debian packages)
  --help   show this help and exit

Environment:
  PYTHON   the Python to build .venv with (default: python3.11, else python3; >= 3.11)
  VENV     where the virtual environment goes (default: .venv at the repository root);
           .ci/run builds a second one with Debian's own /usr/bin/python3.11 this way

Then: .venv/bin/healthdesk runs the app; .venv/bin/python -m pytest runs the tests.
EOF
}

DEV=0
for arg in "$@"; do
    case "$arg" in
        --dev) DEV=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "bootstrap: unknown option: $arg" >&2
            usage >&2
            exit 2
            ;;
    esac
done

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
cd "$ROOT"
if [ ! -f pyproject.toml ]; then
    echo "bootstrap: error: no pyproject.toml in $ROOT (the script must stay in packaging/)" >&2
    exit 1
fi

VENV="${VENV:-$ROOT/.venv}"
STAMP="$VENV/.bootstrap-stamp"
MIN_PY="3.11"

SCRIPT_NAME=bootstrap
# shellcheck source=packaging/messages.sh
source "$SCRIPT_DIR/messages.sh"

# --- 1. Python ----------------------------------------------------------------------------

py_ok() { # a Python that runs and is >= 3.11
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}
py_version() { "$1" -c 'import platform; print(platform.python_version())'; }

PY=""
if [ -n "${PYTHON:-}" ]; then
    py_ok "$PYTHON" || die "PYTHON=$PYTHON is not a working Python >= $MIN_PY"
    PY="$PYTHON"
else
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && py_ok "$candidate"; then
            PY="$(command -v "$candidate")"
            break
        fi
    done
fi
if [ -z "$PY" ]; then
    found="$(command -v python3 >/dev/null 2>&1 && python3 --version 2>&1 || echo none)"
    die "Health Desk needs Python >= $MIN_PY, found: $found. Install one (on Debian 12: \
apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11"
fi

# A working .venv is kept whatever made it; otherwise it is (re)created with $PY. A
# PYTHON given explicitly must be the venv's own: a venv of another Python is rebuilt.
venv_ok() {
    [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python" || return 1
    [ -z "${PYTHON:-}" ] && return 0
    [ "$("$VENV/bin/python" -c 'import sys; print(sys._base_executable)' 2>/dev/null)" = \
        "$("$PYTHON" -c 'import sys; print(sys.executable)' 2>/dev/null)" ]
}
NEED_VENV=0
venv_ok || NEED_VENV=1
say "python: $PY ($(py_version "$PY"))"

# --- 2. System packages ---------------------------------------------------------------------

# Offscreen import and rendering (measured on a fresh Debian 12), then what a real (X11)
# window needs under Xvfb or a desktop.
APT_PACKAGES=(
    libglib2.0-0 libgl1 libegl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libxkbcommon0
    libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
    libxcb-render0 libxcb-shape0 libxcb-util1 libxcb-xkb1 libxkbcommon-x11-0
)
# With --dev, the freedesktop tools tests/packaging/ runs (desktop-file-validate,
# appstreamcli, update-mime-database and update-desktop-database, gio), and poppler's
# pdftotext, with which tests read the PDF support reports.
if [ "$DEV" = 1 ]; then
    APT_PACKAGES+=(desktop-file-utils appstream shared-mime-info libglib2.0-bin poppler-utils)
fi
# Debian strips venv's ensurepip out of its Python into python3.X-venv.
if [ "$NEED_VENV" = 1 ] && ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    real_py="$(readlink -f "$PY")"
    case "$real_py" in
        /usr/bin/python3.*)
            if [ "$real_py" = "$(readlink -f /usr/bin/python3 2>/dev/null)" ]; then
                APT_PACKAGES+=(python3-venv)
            else
                APT_PACKAGES+=("python$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv")
            fi
            ;;
        *) ;; # not Debian's Python: apt cannot help; venv creation below says what failed
    esac
fi

installed() { # dpkg says "install ok installed"; Debian 13 renamed some libraries to *t64
    local name
    for name in "$1" "${1}t64"; do
        if [ "$(dpkg-query -W -f='${Status}' "$name" 2>/dev/null)" = "install ok installed" ]; then
            return 0
        fi
    done
    return 1
}

has_tty() { { : </dev/tty; } 2>/dev/null; } # where sudo could ask for a password

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif sudo -n true >/dev/null 2>&1; then
        sudo -n "$@"
    else
        sudo "$@" # asks for the password on the terminal
    fi
}

if [ ! -f /etc/debian_version ] || ! command -v dpkg-query >/dev/null 2>&1 ||
    ! command -v apt-get >/dev/null 2>&1; then
    say "system packages: skipped (not a Debian system; Qt needs the equivalents of:" \
        "${APT_PACKAGES[*]})"
else
    MISSING=()
    for pkg in "${APT_PACKAGES[@]}"; do
        installed "$pkg" || MISSING+=("$pkg")
    done
    if [ "${#MISSING[@]}" = 0 ]; then
        say "system packages: all ${#APT_PACKAGES[@]} present"
    elif [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
        say "system packages: skipped (not root and no sudo); ask an administrator to run:" \
            "apt-get install --no-install-recommends ${MISSING[*]}"
    elif [ "$(id -u)" != 0 ] && ! sudo -n true >/dev/null 2>&1 && ! has_tty; then
        say "system packages: skipped (sudo needs a password and there is no terminal); run:" \
            "sudo apt-get install --no-install-recommends ${MISSING[*]}"
    else
        say "system packages: installing ${#MISSING[@]}: ${MISSING[*]}"
        quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${MISSING[@]}"
    fi
fi

# --- 3. Virtual environment ---------------------------------------------------------------

if [ "$NEED_VENV" = 1 ]; then
    say "venv: creating $VENV with $PY"
    quietly_or "could not create $VENV with $PY (on Debian: apt-get install python3-venv)" \
        "$PY" -m venv --clear "$VENV"
    rm -f "$STAMP"
else
    say "venv: .venv present ($(py_version "$VENV/bin/python"))"
fi
VPY="$VENV/bin/python"

# --- 4. Python packages ---------------------------------------------------------------------

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
EXTRAS=""
[ "$DEV" = 1 ] && EXTRAS="[dev]"
# What an install depends on: the project's metadata, the extras, the venv's Python.
WANT="$(
    {
        sha256sum pyproject.toml | cut -d' ' -f1
        "$VPY" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
)"
stamp_covers() { # an earlier run installed this pyproject.toml with at least these extras
    [ -f "$STAMP" ] || return 1
    local have_hash have_dev
    read -r have_hash have_dev <"$STAMP" || return 1
    [ "$have_hash" = "$WANT" ] || return 1
    [ "$DEV" = 0 ] || [ "$have_dev" = 1 ] || return 1
    # ...and every requirement (with the extras asked for) is still installed, in range.
    "$VPY" - "$EXTRAS" >/dev/null 2>&1 <<'PYEOF'
import sys
from importlib.metadata import PackageNotFoundError, distribution, version

from pip._vendor.packaging.requirements import Requirement

import healthdesk  # noqa: F401  (importable from this checkout)

extras = [""] + (["dev"] if sys.argv[1] else [])
for line in distribution("healthdesk").requires or []:
    req = Requirement(line)
    if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras):
        continue
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        sys.exit(1)
    if not req.specifier.contains(installed, prereleases=True):
        sys.exit(1)
PYEOF
}
if stamp_covers; then
    say "packages: up to date (pyproject.toml unchanged since the last install)"
else
    say "packages: pip install -e '.$EXTRAS'"
    rm -f "$STAMP"
    quietly "$VPY" -m pip install -q --upgrade pip
    quietly "$VPY" -m pip install -q -e ".$EXTRAS"
    echo "$WANT $DEV" >"$STAMP"
fi

shown="${VENV#"$ROOT"/}"
say "done in ${SECONDS}s: run $shown/bin/healthdesk$([ "$DEV" = 1 ] && echo "; tests: $shown/bin/python -m pytest")"
