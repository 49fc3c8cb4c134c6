"""packaging/install.sh: where an install puts each file, and that --uninstall takes
every one of them away again. Run on a stand-in bundle (a script answering --version and
the real desktop files), laid out as packaging/build.sh lays out dist/healthdesk/."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import APP_ID, ICON_SIZES, MIME_TYPE, PACKAGING, SHARE, require_tool

INSTALL = PACKAGING / "install.sh"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "dist" / "healthdesk"
    (folder / "_internal").mkdir(parents=True)
    (folder / "_internal" / "libpython-stand-in.so").write_bytes(b"\x7fELF stand-in")
    executable = folder / "healthdesk"
    executable.write_text('#!/bin/sh\necho "healthdesk 0.1.0 ran with: $*"\n')
    executable.chmod(0o755)
    shutil.copytree(SHARE, folder / "share")  # as packaging/build.sh does
    shutil.copy2(INSTALL, folder / "install.sh")
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def _run(home: Path, *args: str | Path, script: Path = INSTALL) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["bash", str(script), *map(str, args)], capture_output=True, text=True, env=env, check=False
    )


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_install_puts_each_file_where_it_belongs(bundle: Path, home: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    done = _run(home, "--prefix", prefix, "--bundle", bundle)
    assert done.returncode == 0, done.stderr

    app = prefix / "lib" / "healthdesk"
    assert (app / "healthdesk").is_file()
    assert (app / "_internal" / "libpython-stand-in.so").is_file()
    command = prefix / "bin" / "healthdesk"
    assert command.is_symlink()
    assert command.resolve() == (app / "healthdesk").resolve()
    ran = subprocess.run([command, "x.healthsnap"], capture_output=True, text=True, check=True)
    assert ran.stdout == "healthdesk 0.1.0 ran with: x.healthsnap\n"

    share = prefix / "share"
    desktop = share / "applications" / f"{APP_ID}.desktop"
    # The menu entry runs the command by its full path: ~/.local/bin may not be on PATH.
    assert f'Exec="{command}" %F' in desktop.read_text().splitlines()
    assert f"TryExec={command}" in desktop.read_text().splitlines()
    for size in ICON_SIZES:
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (share / "mime" / "packages" / f"{APP_ID}.xml").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "man" / "man1" / "healthdesk.1").is_file()
    for path in share.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o644, path


def test_the_installed_menu_entry_validates(bundle: Path, home: Path) -> None:
    tool = require_tool("desktop-file-validate")
    assert _run(home, "--bundle", bundle).returncode == 0
    desktop = home / ".local" / "share" / "applications" / f"{APP_ID}.desktop"
    done = subprocess.run([tool, str(desktop)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_install_registers_the_type_and_the_menu_entry(bundle: Path, home: Path) -> None:
    require_tool("update-mime-database")
    require_tool("update-desktop-database")
    assert _run(home, "--bundle", bundle).returncode == 0
    share = home / ".local" / "share"
    assert (share / "mime" / f"{MIME_TYPE}.xml").is_file()
    assert "*.healthsnap" in (share / "mime" / "globs2").read_text()
    cache = (share / "applications" / "mimeinfo.cache").read_text()
    assert f"{MIME_TYPE}={APP_ID}.desktop;" in cache.splitlines()


def test_uninstall_removes_everything_the_install_made(bundle: Path, home: Path) -> None:
    assert _run(home, "--bundle", bundle).returncode == 0
    assert (home / ".local" / "bin" / "healthdesk").is_symlink()
    done = _run(home, "--uninstall")
    assert done.returncode == 0, done.stderr
    assert _tree(home) == set()  # ~/.local too: the install made it


def test_uninstall_keeps_what_was_there_before(bundle: Path, home: Path) -> None:
    share = home / ".local" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / "other.desktop").write_text("[Desktop Entry]\n")
    (share / "icons" / "hicolor" / "48x48" / "apps").mkdir(parents=True)
    (share / "icons" / "hicolor" / "48x48" / "apps" / "other.png").write_bytes(b"png")
    (home / ".local" / "bin").mkdir()
    (home / ".local" / "bin" / "other-tool").write_text("#!/bin/sh\n")
    before = _tree(home)

    assert _run(home, "--bundle", bundle).returncode == 0
    assert _run(home, "--uninstall").returncode == 0
    # Those folders were there: the caches of the desktop, brought up to date, may stay.
    assert _tree(home) - {"share/applications/mimeinfo.cache"} >= before
    assert {
        path
        for path in _tree(home) - before
        if not path.endswith(("mimeinfo.cache", "icon-theme.cache"))
    } == set()


def test_installing_again_replaces_the_install(bundle: Path, home: Path) -> None:
    assert _run(home, "--bundle", bundle).returncode == 0
    stale = home / ".local" / "lib" / "healthdesk" / "_internal" / "from-an-older-version.so"
    stale.write_bytes(b"old")
    done = _run(home, "--bundle", bundle)
    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    assert _run(home, "--uninstall").returncode == 0
    assert _tree(home) == set()


def test_the_bundle_installs_itself(bundle: Path, home: Path) -> None:
    """dist/healthdesk/install.sh, run from an unpacked download, finds its own bundle."""
    done = _run(home, script=bundle / "install.sh")
    assert done.returncode == 0, done.stderr
    assert (home / ".local" / "lib" / "healthdesk" / "healthdesk").is_file()
    # ... and the installed copy's install.sh uninstalls it.
    done = _run(home, "--uninstall", script=home / ".local" / "lib" / "healthdesk" / "install.sh")
    assert done.returncode == 0, done.stderr
    assert _tree(home) == set()


def test_uninstall_with_nothing_installed_says_so(home: Path) -> None:
    done = _run(home, "--uninstall")
    assert done.returncode == 1
    assert "no install found" in done.stderr


def test_install_without_a_bundle_says_how_to_build_one(home: Path, tmp_path: Path) -> None:
    done = _run(home, "--bundle", tmp_path / "nothing-here")
    assert done.returncode == 1
    assert "packaging/build.sh" in done.stderr
    assert _tree(home) == set()


def test_system_and_prefix_exclude_each_other(home: Path, tmp_path: Path) -> None:
    done = _run(home, "--system", "--prefix", tmp_path)
    assert done.returncode == 1
    assert "not both" in done.stderr
