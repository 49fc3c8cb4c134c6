"""What a wheel or bundle ships: every package and every data file the app reads."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_dir(package: str) -> Path:
    mapping = SETUPTOOLS["package-dir"]
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in mapping:
            return ROOT / mapping[prefix] / Path(*parts[cut:])
    return ROOT / mapping[""] / Path(*parts)


def test_every_package_in_the_source_tree_is_listed() -> None:
    found = {
        ".".join(path.parent.relative_to(ROOT / "desktop").parts)
        for path in (ROOT / "desktop" / "healthdesk").rglob("__init__.py")
    }
    for folder, package in (("data", "healthdesk.data"), ("resources", "healthdesk.resources")):
        found.update(
            ".".join((package, *path.parent.relative_to(ROOT / folder).parts))
            for path in (ROOT / folder).rglob("__init__.py")
        )
    listed = set(SETUPTOOLS["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    for package in listed:
        assert (_package_dir(package) / "__init__.py").is_file(), package


def test_every_data_file_is_covered_by_package_data() -> None:
    package_data = SETUPTOOLS["package-data"]
    for package in ("healthdesk.data", "healthdesk.resources"):
        base = _package_dir(package)
        # resources/screenshots/ illustrate the README; the app does not read them.
        files = [
            path.relative_to(base).as_posix()
            for path in base.rglob("*")
            if "screenshots" not in path.relative_to(base).parts
            and path.is_file()
            and path.suffix not in {".py", ".pyc"}
            and "__pycache__" not in path.parts
        ]
        assert files, package
        for name in files:
            assert any(fnmatch.fnmatch(name, pattern) for pattern in package_data[package]), (
                f"{package}: {name} would be left out of a wheel"
            )


def test_the_bundled_files_the_app_reads_are_there() -> None:
    import importlib.resources

    data = importlib.resources.files("healthdesk.data")
    for name in ("demo.healthsnap", "failure-catalog.toml", "feed.schema.json"):
        assert (data / name).is_file(), name
    migrations = importlib.resources.files("healthdesk.store") / "migrations"
    assert (migrations / "env.py").is_file()
    assert (migrations / "script.py.mako").is_file()


def test_one_version_for_the_package_the_cli_and_the_window() -> None:
    import importlib.metadata

    import healthdesk
    from healthdesk.cli import build_parser

    assert "version" not in PYPROJECT["project"]  # no second copy to forget
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert SETUPTOOLS["dynamic"]["version"] == {"attr": "healthdesk.__version__"}
    assert importlib.metadata.version("healthdesk") == healthdesk.__version__
    version_action = next(a for a in build_parser()._actions if "--version" in a.option_strings)
    assert version_action.version == f"healthdesk {healthdesk.__version__}"  # type: ignore[attr-defined]
