"""The ``paretoscope`` command line: ``main`` is the console script, ``build_parser`` its forms."""

from paretoscope.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
