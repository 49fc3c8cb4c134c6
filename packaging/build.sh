#!/usr/bin/env bash
# Health Desk: builds the self-contained bundle (and, with --deb, the Debian package).
#
#   bash packaging/build.sh          # dist/healthdesk/ (one folder; run dist/healthdesk/healthdesk)
#   bash packaging/build.sh --deb    # the same, then dist/healthdesk_VERSION_amd64.deb
#
# Steps (one line of output each):
#   1. finds a Python >= 3.11 built with a shared libpython (python3.11, then python3; or
#      $PYTHON): the bundle carries that interpreter, so build with the one you trust;
#   2. creates (or reuses) a build venv in build/venv with the pinned PyInstaller, and
#      installs the project into it as a wheel would (not editable: only package data);
#   3. runs PyInstaller on packaging/healthdesk.spec into dist/healthdesk/;
#   4. adds the desktop files (packaging/linux/share: .desktop, icons, MIME type,
#      AppStream metainfo) as dist/healthdesk/share/ and install.sh beside the executable;
#   5. checks the bundle in a clean environment (no venv, no Python on PATH) and prints its
#      size and the time of `healthdesk --version`.
# Safe to run again: the venv is reused while pyproject.toml and the pins are unchanged,
# and dist/healthdesk/ is replaced whole.
set -euo pipefail

PYINSTALLER_PIN="pyinstaller==6.22.3"
HOOKS_PIN="pyinstaller-hooks-contrib==2026.9"
SETUPTOOLS_PIN="setuptools==84.2.1"
WHEEL_PIN="wheel==0.48.0"

usage() {
    cat <<'EOF'
Usage: bash packaging/build.sh [--deb] [--help]

Builds dist/healthdesk/, a one-folder bundle of Health Desk that runs without Python or a
virtual environment: dist/healthdesk/healthdesk is the `healthdesk` command (the window and
every subcommand), dist/healthdesk/install.sh installs it with its menu entry, icons and
file type (see its --help).

Options:
  --deb    also build the Debian package dist/healthdesk_VERSION_ARCH.deb from the bundle
  --help   show this help and exit

Environment:
  PYTHON   the Python to build with (default: python3.11, else python3; >= 3.11 with a
           shared libpython)
EOF
}

DEB=0
for arg in "$@"; do
    case "$arg" in
        --deb) DEB=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "build: unknown option: $arg" >&2
            usage >&2
            exit 2
            ;;
    esac
done

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
cd "$ROOT"
[ -f pyproject.toml ] || {
    echo "build: error: no pyproject.toml in $ROOT" >&2
    exit 1
}

SCRIPT_NAME=build
# shellcheck source=packaging/messages.sh
source "$SCRIPT_DIR/messages.sh"

# --- 1. Python ----------------------------------------------------------------------------

# PyInstaller reads the binaries' dependencies with these (Debian: libc-bin, binutils).
for tool in ldd objdump; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (on Debian: apt-get install binutils)"
done

py_ok() { # >= 3.11, with the shared libpython that PyInstaller needs
    "$1" -c 'import os, sys, sysconfig as c; sys.exit(0 if sys.version_info >= (3, 11)
and os.path.exists(os.path.join(c.get_config_var("LIBDIR"), c.get_config_var("INSTSONAME")))
else 1)' >/dev/null 2>&1
}
PY=""
if [ -n "${PYTHON:-}" ]; then
    py_ok "$PYTHON" || die "PYTHON=$PYTHON is not a Python >= 3.11 with a shared libpython"
    PY="$PYTHON"
else
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && py_ok "$candidate"; then
            PY="$(command -v "$candidate")"
            break
        fi
    done
fi
[ -n "$PY" ] || die "no Python >= 3.11 with a shared libpython (on Debian 12: apt-get install \
python3 python3-venv libpython3.11; or set PYTHON=/path/to/python3.11)"
say "python: $PY ($("$PY" -c 'import platform; print(platform.python_version())'))"

# --- 2. Build venv ------------------------------------------------------------------------

VENV="$ROOT/build/venv"
VPY="$VENV/bin/python"
STAMP="$VENV/.build-stamp"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
WANT="$(
    {
        sha256sum pyproject.toml | cut -d' ' -f1
        echo "$PYINSTALLER_PIN $HOOKS_PIN $SETUPTOOLS_PIN $WHEEL_PIN"
        "$PY" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
)"
if [ -x "$VPY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    say "venv: build/venv up to date"
else
    say "venv: creating build/venv with $PYINSTALLER_PIN and the app's dependencies"
    rm -rf "$VENV"
    quietly "$PY" -m venv "$VENV"
    quietly "$VPY" -m pip install -q --upgrade pip
    quietly "$VPY" -m pip install -q "$PYINSTALLER_PIN" "$HOOKS_PIN" "$SETUPTOOLS_PIN" \
        "$WHEEL_PIN"
    # The dependencies once (they are what makes this step slow); the app itself below.
    quietly "$VPY" -m pip install -q --no-build-isolation .
    echo "$WANT" >"$STAMP"
fi
# The app as a wheel ships it, from this checkout's current sources. setuptools stages in
# build/lib: cleared first, or a module deleted from the tree would still be shipped.
rm -rf build/lib build/bdist.*
quietly "$VPY" -m pip install -q --no-deps --no-build-isolation --force-reinstall .
rm -rf build/lib build/bdist.*
VERSION="$("$VPY" -c 'import healthdesk; print(healthdesk.__version__)')"

# --- 3. PyInstaller -----------------------------------------------------------------------

say "bundle: PyInstaller (a few minutes on 2 cores)"
started=$SECONDS
quietly "$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    "$SCRIPT_DIR/healthdesk.spec"
BUNDLE="$ROOT/dist/healthdesk"
[ -x "$BUNDLE/healthdesk" ] || die "PyInstaller made no $BUNDLE/healthdesk"

# --- 4. Desktop files ---------------------------------------------------------------------

cp -R "$SCRIPT_DIR/linux/share" "$BUNDLE/share"
install -m 0755 "$SCRIPT_DIR/install.sh" "$BUNDLE/install.sh"
say "bundle: dist/healthdesk/ built in $((SECONDS - started)) s"

# --- 5. Check -----------------------------------------------------------------------------

# Every shared library the bundle's binaries need is in the bundle or on the system, but
# for Wayland's client libraries (the .deb recommends them; without them Qt uses X11).
internal="$BUNDLE/_internal"
missing="$(
    find "$internal" -type f -name '*.so*' -print0 |
        LD_LIBRARY_PATH="$internal:$internal/PySide6/Qt/lib" xargs -0 ldd 2>/dev/null |
        awk '/not found/ {print $1}' | grep -v '^libwayland-' | sort -u || true
)"
[ -z "$missing" ] || die "libraries the bundle needs and does not have: $missing"

# No venv, no Python on PATH, no PYTHON* variables: what a user's session has.
clean_env=(env -i HOME="${HOME:-/root}" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
got="$("${clean_env[@]}" "$BUNDLE/healthdesk" --version 2>&1)" ||
    die "dist/healthdesk/healthdesk --version failed: $got"
[ "$got" = "healthdesk $VERSION" ] || die "dist/healthdesk/healthdesk --version said: $got"
t0="$(date +%s%N)"
"${clean_env[@]}" "$BUNDLE/healthdesk" --help >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
size="$(du -sh "$BUNDLE" | cut -f1)"
say "bundle: $got, $size, 'healthdesk --help' in $ms ms"

if [ "$DEB" = 1 ]; then
    bash "$SCRIPT_DIR/build-deb.sh"
fi
say "done in ${SECONDS}s: dist/healthdesk/healthdesk; install with dist/healthdesk/install.sh"
