"""Reference text generated from the code into marked sections of the docs.

The command-line forms (from ``build_parser()``), the metric keys (from the
metric registry) and the URL keys (from ``paretoscope.views``) are written
between markers such as ``<!-- BEGIN GENERATED: cli -->`` and
``<!-- END GENERATED: cli -->`` in docs/cli.md, docs/metrics.md, docs/profiling.md and
docs/url.md (the README links to them), as datasette
does with cog. ``python -m paretoscope.cli.reference --write`` (``make docs``)
rewrites them; ``--check`` exits 1 naming the stale sections, and
``tests/cli/test_reference.py`` fails the same way.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from paretoscope.cli.commands import build_parser
from paretoscope.core.metrics import METRICS
from paretoscope.views import (
    COMPARE_KEYS,
    DECIDE_KEYS,
    FILTER_KEYS,
    FRONTIER_KEYS,
    RUN_KEYS,
    RUNS_KEYS,
)

__all__ = [
    "FIX_COMMAND",
    "SECTIONS",
    "cli_forms",
    "cli_options",
    "metric_table",
    "render_sections",
    "stale_sections",
    "url_key_index",
    "write_sections",
]

FIX_COMMAND = "make docs  (or: python -m paretoscope.cli.reference --write)"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_WIDTH = 100  # the docs' code blocks, like the code, stay within 100 columns


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    # argparse has no public way to list a parser's subcommands or arguments;
    # ``_actions`` and ``_SubParsersAction`` have been stable across Python 3.x.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _token(action: argparse.Action) -> str | None:
    """One argument as the forms write it: ``MODEL``, ``[--by FIELD]``, ``[--z METRIC ...]``."""
    if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
        return None
    if action.choices is not None:
        value = "|".join(str(c) for c in action.choices)
    else:
        value = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    if not action.option_strings:
        return {"?": f"[{value}]", "*": f"[{value} ...]", "+": f"{value} [{value} ...]"}.get(
            str(action.nargs), value
        )
    flag = max(action.option_strings, key=len)
    text = flag if action.nargs == 0 else f"{flag} {value}"
    if isinstance(action, argparse._AppendAction):
        text += " ..."
    return text if action.required else f"[{text}]"


def _wrap(prefix: str, tokens: Sequence[str]) -> list[str]:
    """Greedy wrapping at ``_WIDTH``; continuation lines are indented under the first token."""
    lines: list[str] = []
    line = prefix
    for i, token in enumerate(tokens):
        if i and len(line) + 1 + len(token) > _WIDTH:
            lines.append(line)
            line = " " * len(prefix)
        line += " " + token
    return [*lines, line]


def cli_forms(parser: argparse.ArgumentParser | None = None, only: str | None = None) -> str:
    """Every subcommand's form (or ``only`` one's), positionals first, hidden options left out.

    Returned as a fenced code block; raises ``KeyError`` for an unknown ``only``.
    """
    subs = _subcommands(parser or build_parser())
    if only is not None:
        subs = {only: subs[only]}
    width = max(len(name) for name in subs)
    lines: list[str] = []
    for name, sub in subs.items():
        positional = [a for a in sub._actions if not a.option_strings]
        optional = [a for a in sub._actions if a.option_strings]
        tokens = [t for t in map(_token, positional + optional) if t]
        lines += _wrap(f"paretoscope {name:<{width}}", tokens)
    return "```\n" + "\n".join(lines) + "\n```"


def cli_options(parser: argparse.ArgumentParser | None = None) -> str:
    """Every subcommand's arguments with their defaults and help, as one Markdown table."""
    rows = ["| command | argument | default | meaning |", "| --- | --- | --- | --- |"]
    for name, sub in _subcommands(parser or build_parser()).items():
        for action in sub._actions:
            token = _token(action)
            if token is None:
                continue
            shown = action.default not in (None, False, [], argparse.SUPPRESS)
            default = f"`{action.default}`" if shown else ""
            meaning = _cell((action.help or "").replace("%%", "%"))  # argparse's escape
            rows.append(f"| `{name}` | `{_cell(token.strip('[]'))}` | {default} | {meaning} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def metric_table() -> str:
    """The metric registry as a Markdown table: key, label, unit, direction, default axis."""
    rows = [
        "| key | label | unit | better | axis | what |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in METRICS.values():
        axis = "log" if m.log_scale_default else "linear"
        rows.append(
            f"| `{m.key}` | {_cell(m.label)} | {_cell(m.unit)} | {m.direction} | {axis} "
            f"| {_cell(m.description)} |"
        )
    return "\n".join(rows)


def url_key_index() -> str:
    """Which page reads which URL keys, from the key tables of ``paretoscope.views``."""
    pages = (
        ("Frontier", "/", FRONTIER_KEYS),
        ("Runs", "/runs", RUNS_KEYS),
        ("Compare", "/compare", COMPARE_KEYS),
        ("Run detail", "/run", RUN_KEYS),
        ("Decide", "/decide", DECIDE_KEYS),
    )
    rows = ["| page | path | keys |", "| --- | --- | --- |"]
    for title, path, keys in pages:
        rows.append(f"| {title} | `{path}` | " + ", ".join(f"`{k}`" for k in keys) + " |")
    filters = ", ".join(f"`{k}`" for k in FILTER_KEYS)
    return "\n".join(rows) + f"\n\nThe run filters shared by Frontier, Runs and Compare: {filters}."


# file (relative to the repository root) -> section name -> renderer
SECTIONS: dict[str, dict[str, Callable[[], str]]] = {
    "docs/profiling.md": {"cli-profile": partial(cli_forms, only="profile")},
    "docs/cli.md": {"cli": cli_forms, "cli-options": cli_options},
    "docs/metrics.md": {"metrics": metric_table},
    "docs/url.md": {"url-keys": url_key_index},
}


def _section_re(name: str) -> re.Pattern[str]:
    tag = re.escape(name)
    return re.compile(
        rf"(<!-- BEGIN GENERATED: {tag} -->\n)(.*?)(<!-- END GENERATED: {tag} -->)", flags=re.DOTALL
    )


def render_sections(text: str, renderers: dict[str, Callable[[], str]]) -> str:
    """``text`` with every named section's body replaced by its renderer's output.

    Raises ``ValueError`` when a section's markers are missing, so that
    deleting a marker cannot silently turn the check off.
    """
    for name, render in renderers.items():
        found = _section_re(name).search(text)
        if found is None:
            raise ValueError(f"no '<!-- BEGIN/END GENERATED: {name} -->' markers found")
        body = render().rstrip("\n") + "\n"
        text = text[: found.start(2)] + body + text[found.end(2) :]
    return text


def stale_sections(root: Path = _REPO_ROOT) -> list[str]:
    """``file: section`` for each generated section that differs from the code's text."""
    stale: list[str] = []
    for rel, renderers in SECTIONS.items():
        text = (root / rel).read_text(encoding="utf-8")
        for name, render in renderers.items():
            try:
                if render_sections(text, {name: render}) != text:
                    stale.append(f"{rel}: {name}")
            except ValueError:
                stale.append(f"{rel}: {name} (its markers are missing)")
    return stale


def write_sections(root: Path = _REPO_ROOT) -> list[Path]:
    """Rewrite every generated section in place; return the files that changed."""
    changed: list[Path] = []
    for rel, renderers in SECTIONS.items():
        path = root / rel
        text = path.read_text(encoding="utf-8")
        new = render_sections(text, renderers)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """``--write`` regenerates the sections; ``--check`` (the default) exits 1 if any is stale."""
    parser = argparse.ArgumentParser(prog="python -m paretoscope.cli.reference")
    parser.add_argument("--write", action="store_true", help="rewrite the generated sections")
    parser.add_argument("--check", action="store_true", help="exit 1 if a section is stale")
    args = parser.parse_args(argv)
    if args.write:
        changed = write_sections()
        for path in changed:
            print(f"rewrote {path.relative_to(_REPO_ROOT)}")
        if not changed:
            print("generated sections are up to date")
        return 0
    stale = stale_sections()
    for item in stale:
        print(f"stale generated section: {item}; run {FIX_COMMAND}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
