"""Reference docs generated from the code: CLI forms from argparse, metric keys from the registry.

The README holds these between markers (``<!-- BEGIN GENERATED: NAME -->`` …
``<!-- END GENERATED: NAME -->``) so they cannot drift from the code:
``python -m paretoscope.cli.reference --write`` (``make docs``) rewrites them,
``--check`` exits 1 naming the stale sections, and a test does the same.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from paretoscope.cli.commands import build_parser
from paretoscope.core.metrics import METRICS

__all__ = ["README", "SECTIONS", "command_forms", "metric_table", "rewrite", "stale_sections"]

README = Path(__file__).resolve().parents[2] / "README.md"
WIDTH = 100  # usage lines wrap here, whatever the terminal
_MARKER = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) -->\n)"
    r"(?P<body>.*?)"
    r"(<!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _usage(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=WIDTH)
    prefix = "usage: "
    lines = parser.format_usage().removeprefix(prefix).rstrip().splitlines()
    # Continuation lines are indented for the "usage: " we dropped.
    return "\n".join([lines[0], *(line.removeprefix(" " * len(prefix)) for line in lines[1:])])


def _options(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| option | what |", "| --- | --- |"]
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        metavar = action.metavar if isinstance(action.metavar, str) else None
        flags = ", ".join(action.option_strings) or (metavar or action.dest)
        if action.option_strings and action.nargs != 0:
            flags += f" {metavar or action.dest.upper()}"
        what = (action.help or "").replace("|", "\\|")
        if action.choices is not None and not isinstance(action.choices, dict):
            what += f" (one of {', '.join(map(str, action.choices))})"
        shown = "default" in what
        if action.default not in (None, False, [], argparse.SUPPRESS) and not shown:
            what += f"; default {action.default}"
        rows.append(f"| `{flags}` | {what.strip('; ')} |")
    return rows


def command_forms(commands: Sequence[str] | None = None) -> str:
    """A fenced block with the usage of each ``paretoscope`` subcommand (all when None)."""
    subs = _subparsers(build_parser())
    names = list(commands) if commands is not None else list(subs)
    return "```\n" + "\n".join(_usage(subs[n]) for n in names) + "\n```\n"


def command_reference() -> str:
    """Every subcommand: its one-line purpose, usage and options."""
    parser = build_parser()
    helps = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
    out = []
    for name, sub in _subparsers(parser).items():
        purpose = helps.get(name, "")
        out += [f"#### `paretoscope {name}`", "", purpose[:1].upper() + purpose[1:] + ".", ""]
        out += ["```", _usage(sub), "```", "", *_options(sub), ""]
    return "\n".join(out)


def metric_table() -> str:
    """The metric keys as a Markdown table: key, unit, which way is better, what it is."""
    rows = ["| key | label | unit | better | what |", "| --- | --- | --- | --- | --- |"]
    for m in METRICS.values():
        what = m.description.replace("|", "\\|")
        rows.append(f"| `{m.key}` | {m.label} | {m.unit or '—'} | {m.direction} | {what} |")
    return "\n".join(rows) + "\n"


SECTIONS: dict[str, Callable[[], str]] = {
    "cli-forms": command_forms,
    "cli-profile": lambda: command_forms(["profile"]),
    "cli-reference": command_reference,
    "metric-keys": metric_table,
}


def rewrite(text: str) -> str:
    """``text`` with every generated section replaced by what the code says now."""

    def fill(m: re.Match[str]) -> str:
        render = SECTIONS.get(m["name"])
        if render is None:
            return m[0]
        return m[1] + render() + m[4]

    return _MARKER.sub(fill, text)


def stale_sections(text: str) -> list[str]:
    """Names of the generated sections of ``text`` that differ from the code, in order."""
    return [
        m["name"]
        for m in _MARKER.finditer(text)
        if m["name"] in SECTIONS and m["body"] != SECTIONS[m["name"]]()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """``--write`` rewrites README.md's generated sections; ``--check`` exits 1 if any is stale."""
    parser = argparse.ArgumentParser(prog="python -m paretoscope.cli.reference")
    parser.add_argument("--write", action="store_true", help="rewrite the sections in place")
    parser.add_argument("--check", action="store_true", help="exit 1 when a section is stale")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    if args.write:
        args.readme.write_text(rewrite(text), encoding="utf-8")
        return 0
    stale = stale_sections(text)
    if stale:
        print(f"stale in {args.readme}: {', '.join(stale)}; run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
