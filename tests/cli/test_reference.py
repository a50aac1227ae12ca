"""The README's generated sections (command-line forms, options, metric keys) match the code."""

from __future__ import annotations

import argparse
from pathlib import Path

from paretoscope.cli import build_parser, reference
from paretoscope.core.metrics import METRICS


def test_the_readme_sections_are_fresh() -> None:
    text = reference.README.read_text(encoding="utf-8")
    stale = reference.stale_sections(text)
    assert not stale, f"README sections out of date: {stale}; run `make docs`"
    for name in reference.SECTIONS:
        assert f"<!-- BEGIN GENERATED: {name} -->" in text, f"README lacks the {name} section"


def test_a_changed_option_makes_the_section_stale() -> None:
    text = reference.README.read_text(encoding="utf-8")
    edited = text.replace("[--format {csv,json}]", "[--format FMT]", 1)
    assert "cli-forms" in reference.stale_sections(edited)
    assert reference.stale_sections(reference.rewrite(edited)) == []


def test_every_subcommand_and_metric_key_is_in_the_reference() -> None:
    forms = reference.command_forms()
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name in sub.choices:
        assert f"paretoscope {name} " in forms
    table = reference.metric_table()
    for m in METRICS.values():
        assert f"| `{m.key}` | {m.label} | " in table
        assert f" | {m.direction} | " in table


def test_check_exits_1_on_a_stale_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- BEGIN GENERATED: metric-keys -->\nold\n<!-- END GENERATED: metric-keys -->\n"
    )
    assert reference.main(["--check", "--readme", str(readme)]) == 1
    assert reference.main(["--write", "--readme", str(readme)]) == 0
    assert reference.main(["--check", "--readme", str(readme)]) == 0
    assert "`latency_ms_p50`" in readme.read_text()
