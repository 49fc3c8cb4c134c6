# Sourced by bootstrap.sh, build.sh and build-deb.sh: their one-line messages and their
# quiet steps. The sourcing script sets SCRIPT_NAME first (the prefix of every line).
# install.sh ships alone inside the bundle, so it keeps its own two lines.

say() { echo "$SCRIPT_NAME: $*"; }

die() {
    echo "$SCRIPT_NAME: error: $*" >&2
    exit 1
}

# quietly_or MESSAGE COMMAND...: runs COMMAND with its output kept aside, shown only if it
# fails, and then dies with MESSAGE.
quietly_or() {
    local message="$1" log
    shift
    log="$(mktemp "${TMPDIR:-/tmp}/healthdesk-$SCRIPT_NAME.XXXXXX")"
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    cat "$log" >&2
    rm -f "$log"
    die "$message"
}

# quietly COMMAND...: the same, dying with "failed: COMMAND".
quietly() { quietly_or "failed: $*" "$@"; }
