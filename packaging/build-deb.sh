#!/usr/bin/env bash
# Health Desk: the Debian package, made from the bundle that packaging/build.sh built.
#
#   bash packaging/build.sh --deb      # the bundle, then this script
#   bash packaging/build-deb.sh        # this script alone, on an existing dist/healthdesk/
#
# Writes dist/healthdesk_VERSION_ARCH.deb (dpkg-deb, no debhelper) holding:
#   /usr/lib/healthdesk/         the bundle (its executable and _internal/)
#   /usr/bin/healthdesk          a symlink to it
#   /usr/share/{applications,icons/hicolor,mime/packages,metainfo,man}   packaging/linux/share
#   /usr/share/doc/healthdesk/   copyright, changelog.gz
# Depends: libc6 (the newest GLIBC symbol version the bundle's binaries use) and the system
# libraries Qt needs, as packaging/bootstrap.sh installs them (APT_PACKAGES there). The
# menu, MIME and icon caches are brought up to date by the dpkg triggers of
# desktop-file-utils, shared-mime-info and hicolor-icon-theme: no maintainer scripts.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
BUNDLE="$ROOT/dist/healthdesk"

SCRIPT_NAME=build-deb
# shellcheck source=packaging/messages.sh
source "$SCRIPT_DIR/messages.sh"
for tool in dpkg-deb dpkg objdump; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool is missing (on Debian: apt-get install dpkg binutils)"
done
[ -x "$BUNDLE/healthdesk" ] || die "no bundle in dist/healthdesk: run bash packaging/build.sh"

VERSION="$(env -i PATH=/usr/bin:/bin "$BUNDLE/healthdesk" --version | cut -d' ' -f2)"
ARCH="$(dpkg --print-architecture)"
DEB="$ROOT/dist/healthdesk_${VERSION}_${ARCH}.deb"

# The system libraries Qt needs: one list, kept in bootstrap.sh.
mapfile -t QT_LIBS < <(
    sed -n '/^APT_PACKAGES=(/,/^)/p' "$SCRIPT_DIR/bootstrap.sh" |
        sed -e 's/^APT_PACKAGES=(//' -e 's/)$//' | tr -s ' \t' '\n' | grep -v '^$'
)
[ "${#QT_LIBS[@]}" -gt 5 ] || die "could not read APT_PACKAGES from packaging/bootstrap.sh"

# The newest glibc symbol version any binary of the bundle asks for.
GLIBC="$(
    find "$BUNDLE" -type f \( -name '*.so*' -o -name healthdesk \) -print0 |
        xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
        sort -uV | tail -n 1
)"
[ -n "$GLIBC" ] || die "could not find the glibc version the bundle needs"

STAGE="$ROOT/build/deb"
rm -rf "$STAGE"
PKG="$STAGE/healthdesk"
mkdir -p "$PKG/DEBIAN" "$PKG/usr/lib" "$PKG/usr/bin" "$PKG/usr/share/doc/healthdesk"

# The bundle, without what only its own install.sh uses (those go to /usr/share instead).
cp -R "$BUNDLE" "$PKG/usr/lib/healthdesk"
rm -rf "$PKG/usr/lib/healthdesk/share" "$PKG/usr/lib/healthdesk/install.sh"
ln -s ../lib/healthdesk/healthdesk "$PKG/usr/bin/healthdesk"
cp -R "$SCRIPT_DIR/linux/share/." "$PKG/usr/share/"
gzip -9n "$PKG/usr/share/man/man1/healthdesk.1"

cat >"$PKG/usr/share/doc/healthdesk/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: healthdesk
Comment: Health Desk bundles CPython, Qt for Python (PySide6, LGPL-3.0) and the Python
 packages listed in its pyproject.toml, each under its own licence.

Files: *
Copyright: 2026 The Health Desk developers
License: proprietary
 All rights reserved.
EOF
{
    echo "healthdesk ($VERSION) stable; urgency=medium"
    echo
    echo "  * Health Desk $VERSION, built from its bundle by packaging/build-deb.sh."
    echo
    echo " -- Health Desk developers <dev@healthdesk.io>  $(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n >"$PKG/usr/share/doc/healthdesk/changelog.gz"

# What lintian says of any bundled application, and why it is so here.
mkdir -p "$PKG/usr/share/lintian/overrides"
cat >"$PKG/usr/share/lintian/overrides/healthdesk" <<'EOF'
# A self-contained bundle: its own CPython, Qt and Python packages, by design.
healthdesk: embedded-library *
healthdesk: shared-library-lacks-prerequisites *
healthdesk: spelling-error-in-binary *
healthdesk: hardening-no-fortify-functions *
healthdesk: library-not-linked-against-libc *
healthdesk: custom-library-search-path *
# PyInstaller's prebuilt bootloader (usr/lib/healthdesk/healthdesk) is not built as PIE.
healthdesk: hardening-no-pie [usr/lib/healthdesk/healthdesk]
EOF

# Everything root's and world-readable, whatever the builder's umask.
find "$PKG" -type d -exec chmod 0755 {} +
find "$PKG" -type f -exec chmod go-w,a+r {} +
find "$PKG/usr/lib/healthdesk" -type f -name '*.so*' -exec chmod 0644 {} +
chmod 0755 "$PKG/usr/lib/healthdesk/healthdesk"

(cd "$PKG" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$PKG/DEBIAN/md5sums"

DEPENDS="libc6 (>= $GLIBC)"
for lib in "${QT_LIBS[@]}"; do
    DEPENDS="$DEPENDS, $lib"
done
cat >"$PKG/DEBIAN/control" <<EOF
Package: healthdesk
Version: $VERSION
Architecture: $ARCH
Maintainer: Health Desk developers <dev@healthdesk.io>
Installed-Size: $(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
Depends: $DEPENDS
Recommends: libwayland-client0, libwayland-cursor0, libwayland-egl1
Section: utils
Priority: optional
Homepage: https://healthdesk.io/
Description: inspector for the health of contact-sync connections
 Health Desk shows the support agents of a contact-sync service why a contact
 is not syncing between two apps: every contact of a connection is in sync,
 excluded by a rule, a locked duplicate, failing or pending, with the reason
 in the customer's words and both records side by side.
 .
 It opens snapshot files (.healthsnap) or pulls connections live from the
 sync service; the healthdesk command also prints summaries, finds and
 exports contacts. This package is a self-contained build: it carries its own
 Python and Qt.
EOF

say "dpkg-deb --build (xz; a minute or two)"
started=$SECONDS
rm -f "$ROOT"/dist/healthdesk_*.deb
dpkg-deb --root-owner-group --build "$PKG" "$DEB" >/dev/null
say "$(basename "$DEB"): $(du -h "$DEB" | cut -f1) in $((SECONDS - started)) s;" \
    "Depends: $DEPENDS"
