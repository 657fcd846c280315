"""calib's import graph, read from the code with `ast`: every import of calib's own modules, at module
level and inside functions (an in-function import is still a dependency, it only runs later).

Two rules (docs/architecture.md, issue 22):
  - no circles: no file imports another that imports it back, directly or round a longer loop;
  - no upward imports: a package imports only packages on its own floor or below (FLOORS).

`python tests/test_import_graph.py` prints the graph's circles, upward imports and in-function imports.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "calib"

# The floors, lowest first, from docs/architecture.md's data flow: the facts every step shares, then
# hardware, settings and the stored-file format, models, conversion, the backends that prepare a model,
# the spec and a record's lifecycle (with its fidelity pass), the readers of stored files (the paired gate
# that `calib ab` also uses), the drivers (the tuning race, the sweep, the child worker, ab, sensitivity,
# training, prediction), the tables, the reports and the command line. A module may import its own floor
# or any floor below it; the longest matching prefix places a module.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("calib", "calib.errors", "calib.dtypes", "calib.format", "calib.user_files")),
    ("facts", ("calib.precisions", "calib.environment", "calib.timing", "calib.configuration")),
    ("hardware", ("calib.hardware", "calib.energy")),
    ("settings and stored files", ("calib.settings", "calib.results", "calib.store", "calib.scenarios")),
    ("models", ("calib.models",)),
    ("conversion and layer tables", ("calib.quant", "calib.layers")),
    ("backends", ("calib.backends",)),
    ("spec and record", ("calib.spec", "calib.lifecycle", "calib.fidelity")),
    ("readers", ("calib.compare", "calib.check")),
    ("tuning", ("calib.tuning",)),
    ("sweep", ("calib.sweep", "calib.scenarios.reprepare")),  # a scenario point prepared as the sweep does
    ("drivers", ("calib.worker", "calib.interleave", "calib.sensitivity", "calib.train", "calib.predict",
                 "calib.fleet")),
    ("tables", ("calib.render",)),
    ("reports", ("calib.report",)),
    ("command line", ("calib.cli", "calib.__main__")),
]

# Upward imports still in the code, each in a file this change could not edit (owned by another change
# in flight). Remove an entry when its import is gone; the test fails on any new one, so the list only
# shrinks. (importer, imported)
ALLOWED_UPWARD: set[tuple[str, str]] = set()

# Circles still in the code, as the sorted files of each (same rule as above).
ALLOWED_CIRCLES: set[tuple[str, ...]] = set()


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _owner(name: str, modules) -> str | None:
    """The file `name` lives in: the module itself, or the package whose __init__ defines it."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports() -> list[Import]:
    """Every import of a calib module in calib/, with whether it runs inside a function."""
    modules = _modules()
    found = []
    for importer, path in modules.items():
        def visit(node, in_function: bool):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Import):
                    found.extend(Import(importer, _owner(alias.name, modules), child.lineno, in_function)
                                 for alias in child.names if alias.name.split(".")[0] == "calib")
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:  # relative: from the importer's package
                        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
                        for _ in range(child.level - 1):
                            package = package.rpartition(".")[0]
                        base = f"{package}.{base}" if base else package
                    if base.split(".")[0] == "calib":
                        for alias in child.names:
                            target = f"{base}.{alias.name}"
                            found.append(Import(importer, target if target in modules else _owner(base, modules),
                                                child.lineno, in_function))
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(ast.parse(path.read_text(), str(path)), False)
    return found


def floor_of(module: str) -> int:
    best, floor = -1, None
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, floor = len(prefix), index
    assert floor is not None, f"{module} is on no floor: add its package to FLOORS"
    return floor


def upward(found: list[Import]) -> set[tuple[str, str]]:
    return {(i.importer, i.imported) for i in found if floor_of(i.imported) > floor_of(i.importer)}


def circles(found: list[Import]) -> set[tuple[str, ...]]:
    """The strongly connected groups of two or more files (Tarjan, iterative)."""
    graph = defaultdict(set)
    for i in found:
        if i.importer != i.imported:
            graph[i.importer].add(i.imported)
    index, low, stack, on_stack, groups = {}, {}, [], set(), set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.add(tuple(sorted(group)))
    return groups


def in_function_statements() -> int:
    """How many import statements inside functions import calib's own modules."""
    count = 0
    for path in PACKAGE.rglob("*.py"):
        def visit(node, in_function: bool):
            nonlocal count
            for child in ast.iter_child_nodes(node):
                if in_function and isinstance(child, ast.Import):
                    count += any(alias.name.split(".")[0] == "calib" for alias in child.names)
                elif in_function and isinstance(child, ast.ImportFrom):
                    count += child.level > 0 or (child.module or "").split(".")[0] == "calib"
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(ast.parse(path.read_text()), False)
    return count


def test_every_module_is_on_a_floor():
    for module in _modules():
        floor_of(module)


def test_no_file_imports_one_that_imports_it_back():
    found = circles(imports())
    assert found - ALLOWED_CIRCLES == set(), "import circles: " + "; ".join(" <-> ".join(c) for c in found)
    assert ALLOWED_CIRCLES - found == set(), "circles gone: take them out of ALLOWED_CIRCLES"


def test_no_package_imports_one_above_it():
    found = imports()
    violations = upward(found)
    new = sorted(violations - ALLOWED_UPWARD)
    lines = [f"{i.importer}:{i.line} imports {i.imported} ({FLOORS[floor_of(i.imported)][0]} is above "
             f"{FLOORS[floor_of(i.importer)][0]})" for i in found if (i.importer, i.imported) in new]
    assert not new, "upward imports:\n" + "\n".join(lines)
    assert ALLOWED_UPWARD - violations == set(), "fixed: take them out of ALLOWED_UPWARD"


def test_the_graph_sees_in_function_imports():
    found = imports()
    assert any(i.in_function for i in found) and any(not i.in_function for i in found)
    assert Import("calib.hardware", "calib.hardware.microbench", 0, True) in {
        Import(i.importer, i.imported, 0, i.in_function) for i in found}


if __name__ == "__main__":
    found = imports()
    for group in sorted(circles(found)):
        print("circle:", " <-> ".join(group))
    for i in found:
        if floor_of(i.imported) > floor_of(i.importer):
            print(f"upward: {i.importer}:{i.line} -> {i.imported}")
    print("in-function import statements of calib modules:", in_function_statements(), file=sys.stderr)
