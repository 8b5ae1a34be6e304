"""The built distribution holds every module of ``kmw`` and ``conformance``.

An editable install (``pip install -e .``, the README's) finds subpackages on disk whatever
``pyproject.toml`` lists, so a package left out of the list shows only in a wheel, where the
plugin's entry point (``conformance.front.plugin``) would then fail to import in every pytest
run on the machine. This test asks setuptools which packages ``pyproject.toml``'s settings
select and compares them with the packages on disk.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest requires tomli on Python 3.10
    import tomli as tomllib

setuptools = pytest.importorskip("setuptools")

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("kmw", "conformance")


def _packages_on_disk() -> set[str]:
    return {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in SHIPPED
        for init in (ROOT / top).rglob("__init__.py")
    }


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _selected_packages() -> set[str]:
    tool = _pyproject()["tool"]["setuptools"]
    if "packages" in tool and isinstance(tool["packages"], list):
        return set(tool["packages"])
    find = tool.get("packages", {}).get("find", {})
    return set(setuptools.find_packages(
        where=str(ROOT), include=find.get("include", ("*",)), exclude=find.get("exclude", ())))


def test_every_package_on_disk_is_shipped_and_nothing_else() -> None:
    on_disk = _packages_on_disk()
    assert {"conformance.engine", "conformance.front", "conformance.suite"} <= on_disk
    assert _selected_packages() == on_disk


def test_the_plugin_entry_point_and_spec_are_shipped() -> None:
    config = _pyproject()
    entry = config["project"]["entry-points"]["pytest11"]["kmw_conformance"]
    assert entry.rsplit(".", 1)[0] in _selected_packages()
    assert "SPEC.md" in config["tool"]["setuptools"]["package-data"]["conformance"]
