"""Strings from data put into Markdown as text: the one escaping function every page uses.

Streamlit renders Markdown in messages, captions, titles, labels, tabs, metrics
and help texts: GitHub-flavoured Markdown, plus ``:color[...]`` directives,
``:material/icon:``, ``:streamlit:`` and emoji shortcodes, and ``$LaTeX$``.
A model name, a saved view's description or a failed run's error comes from
whoever made the run or the bundle, so it must read as typed there: never an
image fetched from another server, a link, HTML or formatting.
"""

from __future__ import annotations

import re
import string

__all__ = ["markdown_text"]

# CommonMark: a backslash before any ASCII punctuation makes it a literal
# character. Escaping all of it stops emphasis, links and images, HTML
# (``\<img``), entities (``\&``), blocks, tables, Streamlit's ``:red[``
# directives and ``$`` math, and hides ``:material/`` from the source rewrite
# Streamlit makes before parsing.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
# Some of Streamlit's Markdown works on the parsed text, after escapes are gone,
# so a backslash cannot stop it: shortcodes (``:material_x:``, ``:streamlit:``,
# ``:smile:``) and GFM's autolink literals (``http://``, ``www.``, ``a@b.c``).
# A word joiner (U+2060, invisible) after the colon, the ``www`` or the ``@``
# breaks each pattern, and the text still reads the same.
_BREAKS = re.compile(r":(?=[\w+-]+:)|:(?=//)|(?i:www)(?=\.)|@")
_WORD_JOINER = "\u2060"
_NEWLINES = re.compile(r"\r\n|\r|\n")


def _escape_line(line: str) -> str:
    line = _BREAKS.sub(lambda m: m.group(0) + _WORD_JOINER, line)
    return _PUNCTUATION.sub(r"\\\1", line)


def markdown_text(value: object, *, multiline: bool = False) -> str:
    """``value`` as Markdown that renders exactly as its text (``str(value)``), nothing live.

    Single-line by default: line breaks become spaces, for labels, titles and
    sentences. With ``multiline=True`` each line is kept (a hard line break),
    its indentation as no-break spaces, so an error's traceback keeps its shape
    without a blank line or indent starting a code block or any other block.
    """
    text = str(value)
    if not multiline:
        return _escape_line(_NEWLINES.sub(" ", text))
    lines = []
    for line in _NEWLINES.split(text):
        body = line.lstrip(" \t")
        indent = "\u00a0" * (len(line) - len(body))
        lines.append((indent + _escape_line(body)) or "\u00a0")
    return "\\\n".join(lines)
