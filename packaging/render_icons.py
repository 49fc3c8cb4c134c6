"""Renders the application icon's PNGs for the desktop (hicolor theme) from its SVG.

    .venv/bin/python packaging/render_icons.py          # writes the PNGs and the SVG copy
    .venv/bin/python packaging/render_icons.py --check  # exit 1 when one is out of date

The source is resources/icons/healthdesk.svg, the icon the window itself shows; the
results are committed under packaging/linux/share/icons/hicolor/ (named after the
application id) so that install.sh and the Debian package need no renderer. Rendered with
Qt's QSvgRenderer, the same renderer as the window's icons (healthdesk.ui.icons).
tests/test_packaging_desktop.py checks that the committed files match the SVG.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

APP_ID = "io.healthdesk.HealthDesk"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "icons" / "healthdesk.svg"
HICOLOR = ROOT / "packaging" / "linux" / "share" / "icons" / "hicolor"


def png_path(size: int) -> Path:
    return HICOLOR / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def svg_path() -> Path:
    return HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"


def render_png(svg: bytes, size: int) -> bytes:
    """The PNG bytes of `svg` drawn at `size` x `size` pixels (needs a QGuiApplication)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    from healthdesk.ui.icons import render_svg

    image = render_svg(svg, size)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # Highest compression (quality 0 for PNG), no text chunks: the same SVG gives the same bytes.
    if not image.save(buffer, "PNG", 0):  # type: ignore[call-overload]  # (stubs: bytes; runtime: str)
        raise RuntimeError(f"could not encode the {size}px icon")
    buffer.close()
    return bytes(data.data())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = SOURCE.read_bytes()
    wanted = {svg_path(): svg} | {png_path(size): render_png(svg, size) for size in SIZES}
    stale = [
        path for path, data in wanted.items() if not path.is_file() or path.read_bytes() != data
    ]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)}")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wanted[path])
        print(f"wrote {path.relative_to(ROOT)}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
