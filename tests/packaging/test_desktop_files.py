"""The freedesktop files: menu entry, icons, snapshot MIME type, AppStream metainfo."""

from __future__ import annotations

import configparser
import gzip
import json
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path

import pytest

import healthdesk
from healthdesk.feed.reader import SnapshotReader
from healthdesk.feed.snapshot import header_item, write_snapshot
from tests.packaging.conftest import (
    APP_ID,
    DESKTOP_FILE,
    ICON_SIZES,
    METAINFO_FILE,
    MIME_FILE,
    MIME_TYPE,
    PACKAGING,
    ROOT,
    SHARE,
    require_tool,
)

MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
DEMO = ROOT / "data" / "demo.healthsnap"


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


# -- the menu entry ----------------------------------------------------------------------


def test_the_desktop_file_passes_desktop_file_validate() -> None:
    tool = require_tool("desktop-file-validate")
    done = subprocess.run([tool, str(DESKTOP_FILE)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_desktop_file_opens_snapshot_files_with_the_app() -> None:
    entry = _desktop_entry()
    assert entry["Exec"] == "healthdesk %F"  # the window opens every FILE given
    assert entry["Icon"] == APP_ID
    assert MIME_TYPE in entry["MimeType"].split(";")
    assert entry["Terminal"] == "false"


def test_the_window_names_the_desktop_file() -> None:
    # Wayland compositors and X11 docks match a window to its menu entry by this name. In
    # a process of its own: application() also changes how this process collects garbage.
    code = "from healthdesk.ui.app import application; print(application().desktopFileName())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.stdout.strip() == DESKTOP_FILE.stem


# -- icons -------------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("size", ICON_SIZES)
def test_an_icon_of_each_usual_size(size: int) -> None:
    path = SHARE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    assert _png_size(path) == (size, size)


def test_the_scalable_icon_is_the_windows_own_icon() -> None:
    scalable = SHARE / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    source = ROOT / "resources" / "icons" / "healthdesk.svg"
    assert scalable.read_bytes() == source.read_bytes()


def test_the_icons_are_rendered_from_the_current_svg() -> None:
    done = subprocess.run(
        [sys.executable, str(PACKAGING / "render_icons.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"run packaging/render_icons.py:\n{done.stdout}{done.stderr}"


def test_no_other_files_in_the_icon_theme() -> None:
    names = {p.name for p in (SHARE / "icons").rglob("*") if p.is_file()}
    assert names == {f"{APP_ID}.png", f"{APP_ID}.svg"}


# -- the snapshot MIME type --------------------------------------------------------------


def _mime_type() -> ET.Element:
    root = ET.parse(MIME_FILE).getroot()
    assert root.tag == f"{MIME_NS}mime-info"
    (mime_type,) = root.findall(f"{MIME_NS}mime-type")
    assert mime_type.get("type") == MIME_TYPE
    return mime_type


def _magic_matches(mime_type: ET.Element, data: bytes) -> bool:
    """shared-mime-info's magic, for the rules used here: string matches at an offset or
    a range of offsets; nested matches must all hold (the spec's AND)."""

    def match(rule: ET.Element) -> bool:
        assert rule.get("type") == "string", "only string rules are evaluated here"
        value = (rule.get("value") or "").encode()
        first, _, last = (rule.get("offset") or "0").partition(":")
        starts = range(int(first), int(last or first) + 1)
        found = any(data[start : start + len(value)] == value for start in starts)
        children = rule.findall(f"{MIME_NS}match")
        return found and (not children or any(match(child) for child in children))

    return any(
        match(rule)
        for magic in mime_type.findall(f"{MIME_NS}magic")
        for rule in magic.findall(f"{MIME_NS}match")
    )


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Snapshot files as they come: the demo (gzip), the app's own plain output, a file
    written by another program (json.dumps), under names that say nothing; and two
    files that are no snapshots."""
    folder = tmp_path_factory.mktemp("snapshots")
    plain = folder / "plain-export"
    plain.write_bytes(gzip.decompress(DEMO.read_bytes()))
    written = folder / "written-by-the-app"
    write_snapshot(written, [], exported_at="2026-11-30T10:00:00Z", compress=False)
    foreign = folder / "from-a-script"
    foreign.write_text(json.dumps(header_item("2026-11-30T10:00:00Z")) + "\n")
    other = folder / "other.jsonl"
    other.write_text('{"type": "header", "format": "something-else"}\n')
    gzipped = folder / "demo-copy.healthsnap"
    gzipped.write_bytes(DEMO.read_bytes())
    unnamed_gzip = folder / "unnamed.gz"
    unnamed_gzip.write_bytes(DEMO.read_bytes())
    return {
        "plain": plain,
        "written": written,
        "foreign": foreign,
        "other": other,
        "gzipped": gzipped,
        "unnamed_gzip": unnamed_gzip,
    }


def test_the_mime_type_is_named_by_glob() -> None:
    mime_type = _mime_type()
    globs = [glob.get("pattern") for glob in mime_type.findall(f"{MIME_NS}glob")]
    assert globs == ["*.healthsnap"]
    assert mime_type.find(f"{MIME_NS}comment") is not None
    icon = mime_type.find(f"{MIME_NS}icon")
    assert icon is not None
    assert icon.get("name") == APP_ID


def test_the_magic_recognizes_plain_snapshots_by_content(snapshots: dict[str, Path]) -> None:
    mime_type = _mime_type()
    for name in ("plain", "written", "foreign"):
        data = snapshots[name].read_bytes()[:4096]
        assert _magic_matches(mime_type, data), name
        # ... and those are files the app reads.
        reader = SnapshotReader(path=snapshots[name])
        deque(reader.items(), maxlen=0)
        assert reader.header is not None, name
    for name in ("other", "gzipped"):
        assert not _magic_matches(mime_type, snapshots[name].read_bytes()[:4096]), name


def test_the_desktop_recognizes_snapshots(
    tmp_path: Path, snapshots: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """update-mime-database compiles the type into a temporary data folder; GLib's content
    type detection (as file managers use it) then names each file."""
    update = require_tool("update-mime-database")
    gio = require_tool("gio")
    data_dir = tmp_path / "share"
    (data_dir / "mime" / "packages").mkdir(parents=True)
    (data_dir / "mime" / "packages" / MIME_FILE.name).write_bytes(MIME_FILE.read_bytes())
    subprocess.run([update, str(data_dir / "mime")], check=True, capture_output=True)
    assert (data_dir / "mime" / f"{MIME_TYPE}.xml").is_file()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "no-user-data"),
        "XDG_DATA_DIRS": f"{data_dir}:/usr/share",
    }

    def content_type(path: Path) -> str:
        done = subprocess.run(
            [gio, "info", "--attributes=standard::content-type", str(path)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        found = re.search(r"standard::content-type: (\S+)", done.stdout)
        assert found, done.stdout
        return found.group(1)

    for name in ("plain", "written", "foreign", "gzipped"):
        assert content_type(snapshots[name]) == MIME_TYPE, name
    for name in ("other", "unnamed_gzip"):
        assert content_type(snapshots[name]) != MIME_TYPE, name


# -- AppStream metainfo ------------------------------------------------------------------


def test_the_metainfo_passes_appstreamcli_validate() -> None:
    tool = require_tool("appstreamcli")
    done = subprocess.run(
        [tool, "validate", "--no-net", "--no-color", str(METAINFO_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_metainfo_describes_this_app() -> None:
    root = ET.parse(METAINFO_FILE).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP_FILE.name
    assert root.findtext("provides/binary") == "healthdesk"
    assert root.findtext("provides/mediatype") == MIME_TYPE
    newest = root.find("releases/release")
    assert newest is not None
    assert newest.get("version") == healthdesk.__version__


def test_the_metainfo_screenshots_are_the_shipped_ones() -> None:
    root = ET.parse(METAINFO_FILE).getroot()
    images = root.findall("screenshots/screenshot/image")
    assert images
    for image in images:
        url = image.text or ""
        assert url.startswith("https://"), url
        local = ROOT / "resources" / "screenshots" / url.rsplit("/", 1)[1]
        assert _png_size(local) == (int(image.get("width", 0)), int(image.get("height", 0)))


def test_the_manual_page_names_this_version() -> None:
    page = (SHARE / "man" / "man1" / "healthdesk.1").read_text(encoding="utf-8")
    assert f'"healthdesk {healthdesk.__version__}"' in page.splitlines()[0]
