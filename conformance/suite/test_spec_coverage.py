"""Every requirement of SPEC.md is enforced by the suite, and the suite names only SPEC's IDs.

These tests look at the suite itself, not at the candidate: they fail when an ID of SPEC.md has
no collected test marked ``kmw_requirement`` with it, when a name in SPEC's "enforced by" column
is not a test function or class defined in ``conformance/suite/``, when a named test does not
carry the requirement's mark, when a mark names an ID that SPEC.md does not have, or when the
engine can file a finding under an ID that SPEC.md does not have.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conformance.engine.spec import Requirement, load_spec
from conformance.front.plugin import collected_items, requirement_ids

SUITE_DIR = Path(__file__).resolve().parent
ENGINE_DIR = SUITE_DIR.parent / "engine"


def defined_names(suite_dir: Path = SUITE_DIR) -> set[str]:
    """Names of the functions and classes defined (at any depth) or bound at module level
    (``TestMachine = Machine.TestCase``) in the suite's modules."""
    names: set[str] = set()
    for path in sorted(suite_dir.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _item_names(item: pytest.Item) -> set[str]:
    """The names under which SPEC's "enforced by" column may refer to ``item``."""
    names = {getattr(item, "originalname", item.name), item.name}
    cls = getattr(item, "cls", None)
    if cls is not None:
        names.add(cls.__name__)
        # hypothesis names a rule-based state machine's TestCase "<Machine>.TestCase"
        names.add(cls.__qualname__.split(".")[0])
        names.add(cls.__name__.split(".")[0])
    return names


@pytest.fixture
def spec() -> dict[str, Requirement]:
    return load_spec()


@pytest.fixture
def marked(request: pytest.FixtureRequest) -> dict[str, list[pytest.Item]]:
    """Requirement ID -> the collected items marked with it."""
    out: dict[str, list[pytest.Item]] = {}
    for item in collected_items(request.session):
        for rid in requirement_ids(item):
            out.setdefault(rid, []).append(item)
    return out


def test_every_requirement_has_a_marked_test(
    spec: dict[str, Requirement], marked: dict[str, list[pytest.Item]]
) -> None:
    missing = [rid for rid in spec if rid not in marked]
    assert not missing, (
        "SPEC.md requirements no collected test is marked with "
        f"(@pytest.mark.kmw_requirement): {', '.join(missing)}"
    )


def test_marks_name_only_spec_ids(
    spec: dict[str, Requirement], marked: dict[str, list[pytest.Item]]
) -> None:
    unknown = {rid: [i.nodeid for i in items] for rid, items in marked.items() if rid not in spec}
    assert not unknown, f"kmw_requirement marks naming IDs that SPEC.md does not have: {unknown}"


def test_enforcing_names_exist_in_suite(spec: dict[str, Requirement]) -> None:
    defined = defined_names()
    missing = {
        rid: [n for n in req.enforced_by if n not in defined]
        for rid, req in spec.items()
        if any(n not in defined for n in req.enforced_by)
    }
    assert not missing, (
        "names in SPEC.md's 'enforced by' column with no test function or class of that name "
        f"in {SUITE_DIR}: {missing}"
    )


def test_enforcing_tests_carry_the_mark(
    request: pytest.FixtureRequest, spec: dict[str, Requirement]
) -> None:
    wrong = []
    for item in collected_items(request.session):
        names = _item_names(item)
        marks = requirement_ids(item)
        for rid, req in spec.items():
            if names & set(req.enforced_by) and rid not in marks:
                wrong.append(f"{item.nodeid} enforces {rid} per SPEC.md but is not marked with it")
    assert not wrong, "\n".join(wrong)


def requirement_literals(package_dir: Path) -> dict[str, list[str]]:
    """Every string constant shaped like a requirement ID (``KMW-ATT-1``) in the ``.py`` files
    under ``package_dir``: ID -> ``file:line`` where it appears."""
    found: dict[str, list[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and ID_SHAPE.fullmatch(node.value):
                found.setdefault(node.value, []).append(f"{path.name}:{node.lineno}")
    return found


ID_SHAPE = re.compile(r"KMW-[A-Z]+-\d+")


def test_every_id_the_engine_can_report_is_in_spec(spec: dict[str, Requirement]) -> None:
    """The trusted model, the harness and the properties file findings under IDs written as
    literals; each must be one of SPEC.md's (a typo would file a violation nowhere)."""
    literals = requirement_literals(ENGINE_DIR)
    assert len(literals) >= len(spec) // 2, "the scan found too few IDs to be looking right"
    unknown = {rid: where for rid, where in literals.items() if rid not in spec}
    assert not unknown, f"IDs in conformance/engine/ that SPEC.md does not have: {unknown}"
