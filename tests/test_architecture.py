"""The package's shape, read from its source: which module may import which.

The modules are found by walking the package, so a new module is held to the same rules
without this file changing. docs/architecture.md says the same in words.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "taper"
#: the edges: the command line, batch runs and the exports may use what the core may not
EDGES = {"cli", "__main__", "batch", "flags"}
#: libraries the core never imports: the exports' and the command line's
HEAVY = {"pandas", "matplotlib", "reportlab", "click", "numpy", "icalendar"}


def _modules() -> dict[str, Path]:
    """Every module of the package by its dotted name within it (``reports.pdf``)."""
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in sorted(PACKAGE.rglob("*.py"))
    }


MODULES = _modules()
CORE = sorted(m for m in MODULES if "." not in m and m not in EDGES)


def _target(module: str, node: ast.ImportFrom) -> str:
    """The module a relative import names, as a key of MODULES."""
    here = module.split(".")
    base = here if MODULES[module].name == "__init__.py" else here[:-1]
    if base and base[-1] == "__init__":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, node.module]) if node.module else ".".join(base) or "__init__"


def _imports(module: str) -> list[tuple[ast.ImportFrom, str]]:
    """Each relative import in ``module`` (at load time or inside a function), with the module
    of the package it names."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            target = _target(module, node)
            if node.module is None:  # from . import files
                found += [(node, f"{target}.{a.name}".lstrip(".")) for a in node.names]
            else:
                found.append((node, target))
    return found


def test_the_modules_are_found() -> None:
    assert {
        "planner",
        "request",
        "planning",
        "plan_json",
        "schedule_csv",
        "checking",
        "textfile",
    } <= set(CORE)
    assert "reports.bundle" in MODULES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_another_s_private_names(module: str) -> None:
    for node, target in _imports(module):
        private = [a.name for a in node.names if a.name.startswith("_") and a.name[:2] != "__"]
        assert not private, f"{module} imports {private} from {target}"


def test_no_two_core_modules_import_each_other() -> None:
    """Counting imports inside functions too: the core's modules form no cycle."""
    graph = {m: {t for _, t in _imports(m) if t in CORE and t != m} for m in CORE}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in CORE:
        visit(module, [])


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_heavy_library_and_not_the_command_line(module: str) -> None:
    """The package's front door and the schedule's notebook methods may reach the exports
    (taper.reports), but only inside a function, so that importing the core stays light."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            names = []
        for name in names:
            assert name.split(".")[0] not in HEAVY, f"{module} imports {name}"
    for node, target in _imports(module):
        assert target.split(".")[0] not in EDGES, f"{module} imports {target}"
        if target.startswith("reports"):
            assert id(node) not in top, f"{module} imports {target} at load time"
            assert module in ("__init__", "schedule"), f"{module} imports {target}"


def test_findings_take_their_severity_from_the_code_table() -> None:
    """No module writes a finding's severity beside its code: finding() looks it up."""
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Finding"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                raise AssertionError(f"{module}: Finding({node.args[0].value!r}, ...)")


def test_no_test_skips_for_want_of_something_outside_the_repository() -> None:
    """Every test runs wherever the README's test command runs: none skips when a program or
    a file outside the repository is missing."""
    here = Path(__file__).parent
    for path in sorted(here.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for word in ("pytest.skip(", "mark.skipif", "importorskip", "shutil.which", "../shared"):
            assert word not in text or path.name == "test_architecture.py", (path.name, word)
