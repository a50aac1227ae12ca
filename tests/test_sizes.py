"""Library modules stay short enough to read: ~500 lines a module, ~80 a function.

A function may be longer when its docstring says why (it contains "Long
because"); a module may not.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ("paretoscope", "measure", "store")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
EXCUSE = "Long because"


def _library_files() -> list[Path]:
    return sorted(p for root in LIBRARY for p in (REPO / root).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def module_lengths() -> dict[str, int]:
    """Library module path -> its number of lines."""
    return {_rel(p): len(p.read_text(encoding="utf-8").splitlines()) for p in _library_files()}


def long_functions() -> dict[str, int]:
    """``path::Qualified.name`` -> lines (``def`` to its last line) of each function over the
    limit whose docstring does not say why it is long."""
    found: dict[str, int] = {}
    for path in _library_files():

        def visit(node: ast.AST, prefix: str, path: Path = path) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{prefix}{child.name}"
                    lines = (child.end_lineno or child.lineno) - child.lineno + 1
                    excused = EXCUSE in (ast.get_docstring(child) or "")
                    if lines > MAX_FUNCTION_LINES and not excused:
                        found[f"{_rel(path)}::{name}"] = lines
                    visit(child, f"{name}.")

        visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_modules_are_short() -> None:
    long = {p: n for p, n in module_lengths().items() if n > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines; split them: {long}"


def test_functions_are_short_or_say_why() -> None:
    long = long_functions()
    assert not long, (
        f"functions over {MAX_FUNCTION_LINES} lines; split them, or say why in the "
        f"docstring ({EXCUSE!r} …): {long}"
    )
