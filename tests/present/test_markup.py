"""markdown_text: any string reads as typed in Streamlit's Markdown, with nothing live in it."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from paretoscope.present.markup import markdown_text

HOSTILE = [
    "![x](http://evil.example/x.png)",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "**bold** _it_ `code` ~~gone~~",
    ":red[x] :blue-background[y] :violet-badge[z]",
    "$x^2$ and $$y$$",
    ":material/home: :material_home: :streamlit: :smile:",
    "# heading\n===\n---\n> quote\n- item\n1. one\n    indented code",
    "http://evil.example www.evil.example a@evil.example",
    "&lt;b&gt; &amp; &#60;",
    "| a | b |\n|---|---|\n| 1 | 2 |",
]
PUNCT = set(string.punctuation)


def unescape(md: str) -> str:
    """What CommonMark shows for text made only of escapes and literal characters."""
    return re.sub(r"\\([" + re.escape(string.punctuation) + r"])", r"\1", md)


def unescaped_punctuation(md: str) -> list[str]:
    """Punctuation that is not backslash-escaped (and so could start Markdown)."""
    out, i = [], 0
    while i < len(md):
        if md[i] == "\\" and i + 1 < len(md) and md[i + 1] in PUNCT:
            i += 2
            continue
        if md[i] in PUNCT:
            out.append(md[i])
        i += 1
    return out


def test_hostile_examples_read_as_typed() -> None:
    for text in HOSTILE:
        md = markdown_text(text)
        assert "\n" not in md
        assert unescaped_punctuation(md) == [], (text, md)
        assert unescape(md).replace("\u2060", "") == text.replace("\n", " ")


def test_autolinks_are_broken_where_escapes_cannot_reach() -> None:
    # GFM's autolink literals are found in the parsed text too.
    shown = unescape(markdown_text("see http://evil.example/x, WWW.evil.example, a@evil.example"))
    assert not re.search(r"https?://|www\.|@[\w-]", shown, re.I)
    assert (
        shown.replace("\u2060", "") == "see http://evil.example/x, WWW.evil.example, a@evil.example"
    )


def test_shortcodes_are_broken_where_escapes_cannot_reach() -> None:
    # Streamlit replaces :material_x:, :streamlit: and emoji in the parsed text,
    # after escapes are gone: the shown text must hold no such pattern.
    shown = unescape(markdown_text(":material/home: :material_home: :streamlit: :smile:"))
    assert not re.search(r":[\w+-]+:", shown)
    assert ":material/" not in markdown_text(":material/home:")  # rewritten before parsing


@given(st.text())
def test_any_text_is_all_escaped_and_round_trips(text: str) -> None:
    md = markdown_text(text)
    assert unescaped_punctuation(md) == []
    assert "\n" not in md and "\r" not in md
    assert unescape(md).replace("\u2060", "") == re.sub(r"\r\n|\r|\n", " ", text)
    assert not re.search(r":[\w+-]+:", unescape(md))
    assert not re.search(r"https?://|www\.|@", unescape(md).replace("@\u2060", ""), re.I)


@given(st.text())
def test_multiline_keeps_lines_and_starts_no_block(text: str) -> None:
    md = markdown_text(text, multiline=True)
    lines = md.split("\n")
    assert len(lines) == len(re.split(r"\r\n|\r|\n", text))
    for i, line in enumerate(lines):
        body = line[:-1] if i < len(lines) - 1 else line  # less the hard break's backslash
        assert body.lstrip(" \t") == body, "no line may start with a space or tab"
        assert body, "no blank line (it would end the paragraph)"
        assert unescaped_punctuation(body) == []
    assert all(line.endswith("\\") for line in lines[:-1])  # hard line breaks
