"""The generated reference sections of README.md and docs/url.md match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paretoscope.cli import build_parser
from paretoscope.cli.reference import (
    FIX_COMMAND,
    SECTIONS,
    cli_forms,
    metric_table,
    render_sections,
    stale_sections,
    write_sections,
)
from paretoscope.core.metrics import METRICS

REPO = Path(__file__).resolve().parents[2]


def test_generated_sections_are_current() -> None:
    stale = stale_sections()
    assert not stale, f"stale generated docs: {', '.join(stale)}. Run: {FIX_COMMAND}"


def test_write_fixes_a_stale_section(tmp_path: Path) -> None:
    for rel in SECTIONS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        text = (REPO / rel).read_text(encoding="utf-8")
        text = re.sub(r"(<!-- BEGIN GENERATED: \S+ -->\n)", r"\1stale line\n", text)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert len(stale_sections(tmp_path)) == sum(len(r) for r in SECTIONS.values())
    assert len(write_sections(tmp_path)) == len(SECTIONS)
    assert stale_sections(tmp_path) == []
    for rel in SECTIONS:
        assert (tmp_path / rel).read_text(encoding="utf-8") == (REPO / rel).read_text("utf-8")


def test_only_the_text_between_markers_changes() -> None:
    text = "before\n<!-- BEGIN GENERATED: x -->\nold\n<!-- END GENERATED: x -->\nafter\n"
    new = render_sections(text, {"x": lambda: "new"})
    assert new == "before\n<!-- BEGIN GENERATED: x -->\nnew\n<!-- END GENERATED: x -->\nafter\n"


def test_missing_markers_are_an_error_not_a_pass(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GENERATED: x"):
        render_sections("no markers here\n", {"x": lambda: "new"})
    for rel in SECTIONS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("no markers\n", encoding="utf-8")
    assert all("markers are missing" in item for item in stale_sections(tmp_path))


def test_every_subcommand_and_visible_option_is_in_the_forms() -> None:
    forms = cli_forms()
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sub.choices is not None
    for name, subparser in dict(sub.choices).items():
        assert re.search(rf"^paretoscope {name}\b", forms, flags=re.MULTILINE), name
        for action in subparser._actions:
            if action.option_strings and action.help != "==SUPPRESS==" and action.dest != "help":
                assert max(action.option_strings, key=len) in forms, (name, action.dest)
    assert "--progress-file" not in forms  # hidden options stay hidden
    assert all(len(line) <= 100 for line in forms.splitlines())


def test_every_metric_key_has_its_unit_and_direction() -> None:
    table = metric_table()
    for m in METRICS.values():
        assert f"| `{m.key}` | {m.label} | {m.unit} | {m.direction} |" in table
