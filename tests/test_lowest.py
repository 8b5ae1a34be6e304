"""The lowest versions kmw declares are the ones tested.

``constraints/lowest.txt`` pins every dependency ``pyproject.toml`` declares (the build's, the
run time's, the extras') to its declared lower bound; ``tox -e lowest`` installs kmw under those
pins on the lowest Python ``requires-python`` allows and runs the fast tier, and CI runs it. A
bound changed in one file and not in the other, a dependency without a lower bound, or an env
that no longer uses the file fails here; inside that env, so does a version pip did not pin.
"""

from __future__ import annotations

import configparser
import os
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest requires tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints" / "lowest.txt"
#: Set by ``tox -e lowest`` to its constraints file: the tests then check the installed versions.
PINNED_ENV = "KMW_LOWEST_CONSTRAINTS"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def declared_lower_bounds(pyproject: dict) -> dict[str, Version]:
    """Each dependency of ``pyproject`` (build-system, project, optional) -> its ``>=`` bound."""
    texts = [*pyproject["build-system"]["requires"], *pyproject["project"]["dependencies"]]
    for extra in pyproject["project"].get("optional-dependencies", {}).values():
        texts.extend(extra)
    bounds: dict[str, Version] = {}
    for text in texts:
        req = Requirement(text)
        lows = [Version(s.version) for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"{text!r}: every dependency declares exactly one lower bound (>=)"
        name = canonicalize_name(req.name)
        assert name not in bounds, f"{req.name} is declared twice in pyproject.toml"
        bounds[name] = lows[0]
    return bounds


def lowest_python(pyproject: dict) -> str:
    """The lower bound of ``requires-python`` ("3.10")."""
    text = pyproject["project"]["requires-python"]
    lows = [s.version for s in SpecifierSet(text) if s.operator == ">="]
    assert len(lows) == 1, f"requires-python {text!r} declares no single lower bound"
    return lows[0]


def pinned_versions(text: str) -> dict[str, Version]:
    """The ``name==version`` lines of a constraints file (``#`` comments, blank lines)."""
    pins: dict[str, Version] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{line!r} is not a name==version pin"
        pins[canonicalize_name(req.name)] = Version(specs[0].version)
    return pins


def test_the_lowest_constraints_pin_every_dependency_at_its_declared_lower_bound() -> None:
    declared = declared_lower_bounds(_pyproject())
    assert {"numpy", "gymnasium", "metaworld", "setuptools", "pytest-xdist"} <= set(declared)
    assert pinned_versions(CONSTRAINTS.read_text(encoding="utf-8")) == declared


def test_a_bound_changed_in_one_place_only_is_seen() -> None:
    """The comparison above sees a difference in one bound (it compares versions, so "1.24"
    and "1.24.0" are the same bound)."""
    pyproject = _pyproject()
    pins = pinned_versions(CONSTRAINTS.read_text(encoding="utf-8"))
    deps = pyproject["project"]["dependencies"]
    pyproject["project"]["dependencies"] = [
        "numpy>=1.26" if Requirement(d).name == "numpy" else d for d in deps
    ]
    assert declared_lower_bounds(pyproject) != pins
    assert pinned_versions("numpy==1.24.0\n")["numpy"] == Version("1.24")


def test_tox_lowest_installs_under_the_constraints_on_the_lowest_python() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    env = tox["testenv:lowest"]
    assert env["basepython"].strip() == f"python{lowest_python(_pyproject())}"
    setenv = dict(line.split("=", 1) for line in env["setenv"].strip().splitlines())
    setenv = {k.strip(): v.strip() for k, v in setenv.items()}
    for var in ("PIP_CONSTRAINT", "PIP_BUILD_CONSTRAINT", PINNED_ENV):
        assert setenv[var] == "{toxinidir}/constraints/lowest.txt", var
    assert "pytest -n 2" in env["commands"]
    assert "tox -e lowest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_known_broken_releases_are_below_the_declared_bounds() -> None:
    """Every release ``kmw.support`` knows cannot build Meta-World's envs is excluded by
    pyproject's lower bound (the bound names the first release that works)."""
    from kmw.support import KNOWN_BROKEN

    declared = declared_lower_bounds(_pyproject())
    for dist, first_working, _why in KNOWN_BROKEN:
        assert declared[canonicalize_name(dist)] >= Version(first_working), dist


@pytest.mark.skipif(not os.environ.get(PINNED_ENV), reason=f"only in tox -e lowest ({PINNED_ENV})")
def test_this_environment_has_the_pinned_versions() -> None:
    pins = pinned_versions(Path(os.environ[PINNED_ENV]).read_text(encoding="utf-8"))
    installed = {name: Version(metadata.version(name)) for name in pins}
    assert installed == pins
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == lowest_python(_pyproject())
