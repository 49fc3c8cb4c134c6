#!/usr/bin/env bash
# Health Desk: installs the bundle (built by packaging/build.sh) with its menu entry, icons,
# snapshot file type and AppStream metadata; --uninstall removes exactly that again.
#
#   bash install.sh                    # for this user: ~/.local/{lib/healthdesk,bin,share}
#   sudo bash install.sh --system      # for everyone: /opt/healthdesk, /usr/local/{bin,share}
#   bash install.sh --uninstall        # (with the same --system or --prefix as the install)
#
# What goes where (PREFIX is ~/.local, or --prefix DIR):
#   the bundle                  PREFIX/lib/healthdesk/       (--system: /opt/healthdesk/)
#   the command (a symlink)     PREFIX/bin/healthdesk        (--system: /usr/local/bin/)
#   menu entry, icons, MIME type, metainfo, manual page
#                               PREFIX/share/{applications,icons/hicolor,mime/packages,metainfo,man}
#                                                            (--system: /usr/local/share/)
# Then the desktop's caches are brought up to date (update-desktop-database,
# update-mime-database, gtk-update-icon-cache where the theme has a cache), each only when
# the tool is there. Every file and folder the install made is listed in
# lib/healthdesk/.install-manifest, which --uninstall follows. Installing again replaces
# the earlier install.
set -euo pipefail

APP_ID="io.healthdesk.HealthDesk"
MANIFEST_NAME=".install-manifest"

usage() {
    cat <<'EOF'
Usage: install.sh [--system | --prefix DIR] [--bundle DIR] [--uninstall] [--help]

Installs Health Desk for this user (under ~/.local), or for everyone with --system
(/opt/healthdesk, /usr/local/bin, /usr/local/share: run it as root), with its menu entry,
icons, the snapshot file type (.healthsnap) and AppStream metadata.

Options:
  --system      install for every user (needs root)
  --prefix DIR  install under DIR instead of ~/.local (DIR/lib/healthdesk, DIR/bin,
                DIR/share)
  --bundle DIR  the bundle to install (default: the folder of this script when it is a
                bundle, else dist/healthdesk of the checkout)
  --uninstall   remove what an install with the same --system/--prefix put there
  --help        show this help and exit
EOF
}

say() { echo "install: $*"; }
die() {
    echo "install: error: $*" >&2
    exit 1
}

SYSTEM=0
PREFIX=""
BUNDLE=""
UNINSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --system) SYSTEM=1 ;;
        --prefix)
            [ $# -ge 2 ] || die "--prefix needs a folder"
            PREFIX="$2"
            shift
            ;;
        --prefix=*) PREFIX="${1#--prefix=}" ;;
        --bundle)
            [ $# -ge 2 ] || die "--bundle needs a folder"
            BUNDLE="$2"
            shift
            ;;
        --bundle=*) BUNDLE="${1#--bundle=}" ;;
        --uninstall) UNINSTALL=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "install: unknown option: $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done
[ "$SYSTEM" = 0 ] || [ -z "$PREFIX" ] || die "give --system or --prefix, not both"

if [ "$SYSTEM" = 1 ]; then
    APPDIR="/opt/healthdesk"
    BINDIR="/usr/local/bin"
    DATADIR="/usr/local/share"
else
    if [ -z "$PREFIX" ]; then
        [ -n "${HOME:-}" ] || die "HOME is not set: give --prefix DIR"
        PREFIX="$HOME/.local"
    fi
    case "$PREFIX" in
        /*) ;;
        *) PREFIX="$PWD/$PREFIX" ;;
    esac
    APPDIR="$PREFIX/lib/healthdesk"
    BINDIR="$PREFIX/bin"
    DATADIR="$PREFIX/share"
fi
MANIFEST="$APPDIR/$MANIFEST_NAME"

# --- the desktop's caches -------------------------------------------------------------

has() { command -v "$1" >/dev/null 2>&1; }

refresh_caches() {
    if [ -d "$DATADIR/applications" ] && has update-desktop-database; then
        update-desktop-database -q "$DATADIR/applications" || true
    fi
    if [ -d "$DATADIR/mime/packages" ] && has update-mime-database; then
        update-mime-database "$DATADIR/mime" >/dev/null 2>&1 || true
    fi
    local hicolor="$DATADIR/icons/hicolor"
    if [ -d "$hicolor" ]; then
        # The icon theme spec: touch the theme folder so that caches are seen to be stale.
        touch "$hicolor"
        # A cache only where the theme has one, or its index: a cache of ours in a folder
        # that other programs add icons to without updating it would hide their icons.
        if has gtk-update-icon-cache &&
            { [ -f "$hicolor/icon-theme.cache" ] || [ -f "$hicolor/index.theme" ]; }; then
            gtk-update-icon-cache -q -t -f "$hicolor" || true
        fi
    fi
}

# --- uninstall ------------------------------------------------------------------------

# In a folder the install made, what the caches above generated goes with our files: the
# mime folder once no package is left in it, a cache file once it is alone in its folder.
remove_generated() {
    local dir="$1" cache
    if [ "$dir" = "$DATADIR/mime" ]; then
        if [ ! -d "$dir/packages" ] || [ -z "$(ls -A -- "$dir/packages")" ]; then
            rm -rf -- "$dir"
        fi
        return 0
    fi
    for cache in mimeinfo.cache icon-theme.cache; do
        if [ -f "$dir/$cache" ] && [ "$(ls -A -- "$dir")" = "$cache" ]; then
            rm -f -- "${dir:?}/$cache"
        fi
    done
}

uninstall() {
    [ -f "$MANIFEST" ] || die "no install found in $APPDIR (no $MANIFEST_NAME there)"
    local kind path dirs=()
    while IFS=' ' read -r kind path; do
        case "$kind" in
            f | l) rm -f -- "$path" ;;
            d) dirs+=("$path") ;;
            *) ;;
        esac
    done <"$MANIFEST"
    rm -rf -- "$APPDIR"
    # Caches first (without our files), then the folders we made, deepest first.
    refresh_caches
    local i
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
        path="${dirs[$i]}"
        [ -d "$path" ] || continue
        remove_generated "$path"
        rmdir -- "$path" 2>/dev/null || true
    done
}

if [ "$UNINSTALL" = 1 ]; then
    uninstall
    say "removed Health Desk from $APPDIR, $BINDIR and $DATADIR"
    exit 0
fi

# --- install --------------------------------------------------------------------------

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "$BUNDLE" ]; then
    if [ -x "$SCRIPT_DIR/healthdesk" ] && [ -d "$SCRIPT_DIR/share" ]; then
        BUNDLE="$SCRIPT_DIR"
    else
        BUNDLE="$SCRIPT_DIR/../dist/healthdesk"
    fi
fi
[ -x "$BUNDLE/healthdesk" ] && [ -d "$BUNDLE/share" ] ||
    die "no bundle in $BUNDLE: build it first (bash packaging/build.sh) or give --bundle DIR"
BUNDLE="$(cd -- "$BUNDLE" && pwd)"
[ "$BUNDLE" != "$APPDIR" ] || die "$BUNDLE is the installed copy: install from the build"

if [ -f "$MANIFEST" ]; then
    say "replacing the install in $APPDIR"
    uninstall
fi

ENTRIES=() # the manifest, written at the end (and on failure, so --uninstall can clean up)
write_manifest() {
    [ -d "$APPDIR" ] || return 0
    printf '%s\n' "${ENTRIES[@]}" >"$MANIFEST"
}
trap write_manifest EXIT

# Creates the folder and its missing parents, recording each one it made.
make_dir() {
    local dir="$1" missing=()
    while [ ! -d "$dir" ]; do
        missing=("$dir" "${missing[@]}")
        dir="$(dirname -- "$dir")"
    done
    for dir in "${missing[@]}"; do
        mkdir -- "$dir"
        ENTRIES+=("d $dir")
    done
}

make_dir "$APPDIR"
cp -R -- "$BUNDLE/." "$APPDIR/"
# Read by everyone (a system install), whatever the umask of the build.
chmod -R u+rwX,go+rX,go-w -- "$APPDIR"

make_dir "$BINDIR"
ln -sfn -- "$APPDIR/healthdesk" "$BINDIR/healthdesk"
ENTRIES+=("l $BINDIR/healthdesk")

install_file() { # SOURCE (relative to the bundle's share/) -> DATADIR, mode 0644
    local rel="$1" target="$DATADIR/$1"
    make_dir "$(dirname -- "$target")"
    install -m 0644 -- "$BUNDLE/share/$rel" "$target"
    ENTRIES+=("f $target")
}

while IFS= read -r rel; do
    case "$rel" in
        applications/*.desktop)
            make_dir "$DATADIR/applications"
            # Exec by full path: ~/.local/bin is not on every session's PATH.
            sed -e "s|^Exec=healthdesk |Exec=\"$BINDIR/healthdesk\" |" \
                -e "s|^TryExec=healthdesk\$|TryExec=$BINDIR/healthdesk|" \
                "$BUNDLE/share/$rel" >"$DATADIR/$rel"
            chmod 0644 "$DATADIR/$rel"
            ENTRIES+=("f $DATADIR/$rel")
            ;;
        *) install_file "$rel" ;;
    esac
done < <(cd "$BUNDLE/share" && find . -type f | sed 's|^\./||' | sort)

write_manifest
refresh_caches
say "installed Health Desk $("$APPDIR/healthdesk" --version 2>/dev/null | cut -d' ' -f2 || true)" \
    "in $APPDIR; command: $BINDIR/healthdesk; menu entry: $APP_ID"
case ":${PATH:-}:" in
    *":$BINDIR:"*) ;;
    *) say "note: $BINDIR is not on your PATH (the menu entry works without it)" ;;
esac
