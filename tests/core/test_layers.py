"""The layers and what each may import, read from the source's import statements.

Every ``import``/``from … import`` in paretoscope/, measure/, store/, app.py and
app_pages/ counts, at the top of a module or inside a function, and so does
``importlib.import_module("literal")``. Imports under ``if TYPE_CHECKING:``
count for the layer and cycle rules (a type is a dependency of the design) but
not for the framework rules (they never run, so they load nothing).

The same table is in CONTRIBUTING.md; change both together. A few lines are
broken today while their fixes are under way: they are listed by name in
KNOWN_VIOLATIONS and KNOWN_CYCLES, and an entry whose line is fixed must be
deleted (the test says so), so the lists only shrink.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("paretoscope", "measure", "store", "app_pages", "app.py")

# Which layer a module is in: the first prefix that matches (module == prefix or
# starts with prefix + ".").
LAYER_OF: tuple[tuple[str, str], ...] = (
    ("paretoscope.core", "core"),
    ("paretoscope.views", "views"),
    ("paretoscope.analysis", "analysis"),
    ("paretoscope.present", "present"),
    ("paretoscope.jobs", "jobs"),
    ("paretoscope.jobrunner", "jobs"),  # the shim behind `python -m paretoscope.jobrunner`
    ("paretoscope.profiling", "profiling"),
    ("paretoscope.ui", "ui"),
    ("paretoscope.cli", "cli"),
    ("paretoscope.__main__", "cli"),  # `python -m paretoscope`
    ("paretoscope", "root"),  # the root package: `__version__` and nothing else
    ("measure.runtimes", "measure.runtimes"),
    ("measure", "measure"),
    ("store", "store"),
    ("app_pages", "pages"),
    ("app", "pages"),
)

_BELOW_ORCHESTRATION = frozenset(
    {"core", "root", "views", "analysis", "present", "measure", "measure.runtimes", "store"}
)
_EVERYTHING = frozenset(layer for _, layer in LAYER_OF)

# THE TABLE (also in CONTRIBUTING.md). layer -> the layers of ours it may import
# besides itself. Third-party rules are in HEAVY_RULES below.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "root": frozenset(),
    "views": frozenset({"core"}),
    "analysis": frozenset({"core", "views"}),
    "present": frozenset({"core", "views", "analysis"}),
    # measure/ and store/: core, and `from paretoscope import __version__`;
    # measure's modules import each other freely, runtimes included.
    "measure": frozenset({"core", "root", "measure.runtimes"}),
    "measure.runtimes": frozenset({"core", "root", "measure"}),
    "store": frozenset({"core", "root"}),
    "jobs": _BELOW_ORCHESTRATION | {"profiling"},
    "profiling": _BELOW_ORCHESTRATION | {"jobs"},
    "cli": _EVERYTHING - {"ui", "pages"},
    "ui": _EVERYTHING - {"cli", "pages"},
    "pages": _EVERYTHING,
}

# Frameworks kept out of layers: top-level package -> the layers that must NOT import it.
STREAMLIT_LAYERS = frozenset({"ui", "pages"})
HEAVY_RULES: dict[str, frozenset[str]] = {
    "streamlit": _EVERYTHING - STREAMLIT_LAYERS,
    "duckdb": frozenset({"analysis", "present"}),
    "torch": frozenset({"analysis", "present"}),
    "onnxruntime": frozenset({"analysis", "present"}),
    "onnx": frozenset({"analysis", "present"}),
}

# "importer -> imported": why it is allowed for now. Delete an entry when its fix lands.
KNOWN_VIOLATIONS: dict[str, str] = {
    "measure.evaldata -> store": (
        "store_eval_set(store: Store, ...) writes users' evaluation data into the store "
        "(the import is for the type only); being moved out of measure/"
    ),
}

# Cycles between layers, as the set of layers in one strongly connected part.
KNOWN_CYCLES: dict[frozenset[str], str] = {
    frozenset({"jobs", "profiling"}): (
        "jobs.runner runs profiles (profiling, profiling.uploads) while "
        "profiling.uploads.inputs_present takes a jobs.queue.Job (a type-only import)"
    ),
    frozenset({"measure", "measure.runtimes"}): (
        "measure.runtimes.base uses measure.timing.StepClock while measure/__init__, "
        "profile and worker use the runtimes; measure's modules may import each other, "
        "so this cycle goes when StepClock moves below the runtimes or runtimes join measure"
    ),
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module of ours or a third-party name."""

    source: str
    target: str
    line: int
    type_checking: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    paths: list[Path] = []
    for source in SOURCES:
        root = REPO / source
        paths += [root] if root.is_file() else sorted(root.rglob("*.py"))
    return {_module_name(p): p for p in paths}


MODULES = _modules()


def layer_of(module: str) -> str | None:
    """The layer of one of our modules, None for anything else (third-party, stdlib)."""
    for prefix, layer in LAYER_OF:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _from_target(module: str, node: ast.ImportFrom, alias: str) -> str:
    base = node.module or ""
    if node.level:  # relative: resolve against the importing module's package
        package = module.split(".")
        is_package = MODULES[module].name == "__init__.py"
        package = package[: len(package) - node.level + (1 if is_package else 0)]
        base = ".".join([*package, base] if base else package)
    # `from paretoscope import views` imports the module paretoscope.views;
    # `from paretoscope import __version__` imports the root package.
    return f"{base}.{alias}" if f"{base}.{alias}" in MODULES else base


def imports_of(module: str) -> list[Import]:
    """Every import in ``module``, top level and inside functions, with its line."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, guarded)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(module, a.name, node.lineno, guarded) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.extend(
                Import(module, _from_target(module, node, a.name), node.lineno, guarded)
                for a in node.names
            )
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(module, node.args[0].value, node.lineno, guarded))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


ALL_IMPORTS = [imp for module in MODULES for imp in imports_of(module)]


def _where(imp: Import) -> str:
    return f"{MODULES[imp.source].relative_to(REPO)}:{imp.line}"


def _edge(imp: Import) -> str:
    """The allow-list key of an import: ``importer -> imported module``."""
    return f"{imp.source} -> {imp.target}"


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if layer_of(m) is None] == []
    assert set(MAY_IMPORT) == _EVERYTHING


def layer_violations() -> dict[str, list[str]]:
    """``importer -> imported`` for each import the table forbids, with where it is."""
    bad: dict[str, list[str]] = defaultdict(list)
    for imp in ALL_IMPORTS:
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is None or target is None or source == target:
            continue
        if target not in MAY_IMPORT[source]:
            bad[_edge(imp)].append(f"{_where(imp)} ({source} -> {target})")
    return dict(bad)


def test_layers_import_only_what_the_table_allows() -> None:
    bad = layer_violations()
    new = {edge: where for edge, where in bad.items() if edge not in KNOWN_VIOLATIONS}
    assert not new, "imports the layer table forbids:\n" + "\n".join(
        f"  {edge}  at {', '.join(where)}" for edge, where in sorted(new.items())
    )
    fixed = sorted(set(KNOWN_VIOLATIONS) - set(bad))
    assert not fixed, f"fixed, so delete from KNOWN_VIOLATIONS: {fixed}"


def test_measure_and_store_take_only_the_version_from_the_root_package() -> None:
    for imp in ALL_IMPORTS:
        if layer_of(imp.source) in ("measure", "measure.runtimes", "store") and (
            imp.target == "paretoscope"
        ):
            line = MODULES[imp.source].read_text(encoding="utf-8").splitlines()[imp.line - 1]
            assert line.strip() == "from paretoscope import __version__", _where(imp)


def test_store_never_imports_measure() -> None:
    bad = [
        _where(imp)
        for imp in ALL_IMPORTS
        if layer_of(imp.source) == "store"
        and layer_of(imp.target) in ("measure", "measure.runtimes")
    ]
    assert bad == []


@pytest.mark.parametrize("package", sorted(HEAVY_RULES))
def test_frameworks_stay_in_their_layers(package: str) -> None:
    bad = [
        f"{_where(imp)} ({layer_of(imp.source)})"
        for imp in ALL_IMPORTS
        if not imp.type_checking
        and imp.target.split(".")[0] == package
        and layer_of(imp.source) in HEAVY_RULES[package]
    ]
    assert bad == [], f"{package} imported where the table forbids it"


def layer_graph() -> dict[str, set[str]]:
    """Layer -> the other layers it imports."""
    graph: dict[str, set[str]] = {layer: set() for layer in MAY_IMPORT}
    for imp in ALL_IMPORTS:
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source and target and source != target:
            graph[source].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node, O(V + E)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    parts: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part: list[str] = []
            while not part or part[-1] != node:
                part.append(stack.pop())
            if len(part) > 1:
                parts.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return parts


def _cycle_text(part: list[str], graph: dict[str, set[str]]) -> str:
    """The shortest cycle through the part's first layer, with the imports behind each step."""
    start, inside = part[0], set(part)
    paths, queue, cycle = {start: [start]}, [start], [start]
    while queue and cycle == [start]:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & inside):
            if nxt == start:
                cycle = [*paths[node], start]
                break
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    steps = []
    for a, b in pairwise(cycle):
        lines = list(
            dict.fromkeys(
                _where(imp)
                for imp in ALL_IMPORTS
                if layer_of(imp.source) == a and layer_of(imp.target) == b
            )
        )
        steps.append(f"    {a} -> {b}: {', '.join(lines[:3])}")
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_no_cycles_between_layers() -> None:
    graph = layer_graph()
    parts = strongly_connected(graph)
    new = [p for p in parts if frozenset(p) not in KNOWN_CYCLES]
    assert not new, "cycles between layers:\n" + "\n".join(_cycle_text(p, graph) for p in new)
    fixed = [sorted(c) for c in set(KNOWN_CYCLES) - {frozenset(p) for p in parts}]
    assert not fixed, f"no longer cycles, so delete from KNOWN_CYCLES: {fixed}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert _cycle_text(["a", "b", "c"], graph).startswith("a -> b -> c -> a")


# Fresh interpreters: what a module loads, its imports' imports included.

PURE = [
    "paretoscope.core.records",
    "paretoscope.core.metrics",
    "paretoscope.analysis.frontier",
    "paretoscope.core.errors",
    "paretoscope.present.runtable",
    "paretoscope.views",
    "paretoscope.present.charts",
    "paretoscope.present.methodology",
    "paretoscope.jobs.background",
]


def _loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_heavy_frameworks(module: str) -> None:
    loaded = _loaded_after(module)
    for heavy in ("torch", "streamlit", "duckdb", "onnxruntime"):
        assert heavy not in loaded, f"{module} imports {heavy}"


@pytest.mark.parametrize("module", ["paretoscope.cli", "store", "paretoscope.ui.dashboard"])
def test_cli_and_store_do_not_import_torch(module: str) -> None:
    loaded = _loaded_after(module)
    assert "torch" not in loaded and "onnxruntime" not in loaded
