"""The house rules: which layer may import which, no cycles, Streamlit and torch where they belong.

The import graph is read from the source (``ast``): every ``import`` counts,
at module level or inside a function, ``TYPE_CHECKING`` blocks included,
since a lazy import is still a dependency. The rules table below is the one
in CONTRIBUTING.md.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = ("paretoscope", "measure", "store")

# layer -> the layers it may import (besides itself and the root package's __version__).
RULES: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "views": frozenset({"core"}),
    "analysis": frozenset({"core", "views"}),
    "present": frozenset({"core", "views", "analysis"}),
    "measure": frozenset({"core"}),
    "store": frozenset({"core"}),
    "profiling": frozenset({"core", "views", "analysis", "present", "measure", "store"}),
    "jobs": frozenset({"core", "views", "analysis", "present", "measure", "store", "profiling"}),
    "ui": frozenset(
        {"core", "views", "analysis", "present", "measure", "store", "profiling", "jobs"}
    ),
    "cli": frozenset(
        {"core", "views", "analysis", "present", "measure", "store", "profiling", "jobs"}
    ),
    "pages": frozenset(
        {"core", "views", "analysis", "present", "store", "profiling", "jobs", "ui"}
    ),
}
# Third-party packages each layer must never import: the server stays light,
# the pure layers stay pure.
FORBIDDEN: dict[str, frozenset[str]] = {
    "core": frozenset({"streamlit", "duckdb", "torch", "onnxruntime", "altair"}),
    "views": frozenset({"streamlit", "duckdb", "torch", "onnxruntime", "altair"}),
    "analysis": frozenset({"streamlit", "duckdb", "torch", "onnxruntime", "altair"}),
    "present": frozenset({"streamlit", "duckdb", "torch", "onnxruntime"}),
    "measure": frozenset({"streamlit", "duckdb", "altair"}),
    "store": frozenset({"streamlit", "torch", "onnxruntime", "altair"}),
    "profiling": frozenset({"streamlit"}),
    "jobs": frozenset({"streamlit"}),
    "cli": frozenset({"streamlit"}),
    "ui": frozenset({"torch", "onnxruntime"}),
    "pages": frozenset({"torch", "onnxruntime"}),
}


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name of ours, or None for a third-party one."""
    parts = module.split(".")
    if parts[0] in ("measure", "store"):
        return parts[0]
    if parts[0] != "paretoscope":
        return None
    if len(parts) == 1:
        return "root"
    sub = parts[1]
    if sub == "webapp":  # app.py and app_pages/: Streamlit scripts, not imported
        return "pages"
    # `python -m paretoscope.jobrunner` is a documented form: a shim of the jobs layer.
    return {"jobrunner": "jobs", "__main__": "cli"}.get(sub, sub)


def _modules() -> Iterator[tuple[str, Path]]:
    for top in OURS:
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            yield ".".join(parts), path


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            if node.module == "paretoscope":  # `from paretoscope import profiling`
                yield from (f"paretoscope.{a.name}" for a in node.names if a.name != "__version__")


def _edges() -> list[tuple[str, str, str, str]]:
    """(module, its layer, imported name, that name's layer or the third-party package)."""
    out = []
    for module, path in _modules():
        src = layer_of(module)
        assert src is not None
        for name in _imports(path):
            dst = layer_of(name)
            out.append((module, src, name, dst if dst is not None else name.split(".")[0]))
    return out


EDGES = _edges()


def test_every_layer_of_ours_is_in_the_rules() -> None:
    layers = {src for _, src, _, _ in EDGES} - {"root"}
    assert layers <= set(RULES), f"modules outside any layer: {sorted(layers - set(RULES))}"


def test_layers_import_only_what_the_rules_allow() -> None:
    bad = [
        f"{module} ({src}) imports {name} ({dst})"
        for module, src, name, dst in EDGES
        if dst in RULES and dst != src and src in RULES and dst not in RULES[src]
    ]
    assert not bad, "\n".join(bad)


def test_no_layer_imports_a_forbidden_framework() -> None:
    bad = [
        f"{module} ({src}) imports {name}"
        for module, src, name, dst in EDGES
        if src in FORBIDDEN and dst in FORBIDDEN[src]
    ]
    assert not bad, "\n".join(bad)


def test_streamlit_only_in_ui_app_and_pages() -> None:
    users = sorted({module for module, src, _, dst in EDGES if dst == "streamlit"})
    assert users, "the scan found no Streamlit import at all: is it reading the pages?"
    outside = [m for m in users if layer_of(m) not in ("ui", "pages")]
    assert not outside, f"Streamlit imported outside ui/, app.py and the pages: {outside}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that starts and ends at one node, or None (DFS, O(V+E))."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _package_of(module: str) -> str:
    """The package a module belongs to, for the cycle test: a layer, or a subpackage of one."""
    parts = module.split(".")
    if parts[0] == "paretoscope" and len(parts) > 1:
        return layer_of(module) or module
    if parts[0] == "measure" and len(parts) > 1 and (REPO / "measure" / parts[1]).is_dir():
        return ".".join(parts[:2])  # measure.runtimes, measure.energy, measure.cluster, ...
    return layer_of(module) or parts[0]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for module, _src, name, dst in EDGES:
        if dst not in RULES and dst != "root":
            continue
        a, b = _package_of(module), _package_of(name)
        if a != b and b != "root":
            graph.setdefault(a, set()).add(b)
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


# What actually gets loaded, checked in fresh interpreters: a module may pull a
# heavy framework in through a third-party package that the scan cannot see.
SERVER_MODULES = [
    "paretoscope.core.records",
    "paretoscope.core.metrics",
    "paretoscope.core.errors",
    "paretoscope.analysis.frontier",
    "paretoscope.views",
    "paretoscope.present.runtable",
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


@pytest.mark.parametrize("module", SERVER_MODULES)
def test_pure_modules_import_no_heavy_frameworks(module: str) -> None:
    loaded = _loaded_after(module)
    for heavy in ("torch", "streamlit", "duckdb", "onnxruntime"):
        assert heavy not in loaded, f"{module} imports {heavy}"


@pytest.mark.parametrize("module", ["paretoscope.cli", "store", "paretoscope.ui.dashboard"])
def test_cli_and_store_do_not_import_torch(module: str) -> None:
    loaded = _loaded_after(module)
    assert "torch" not in loaded and "onnxruntime" not in loaded
