"""The causal-LM options of ``paretoscope profile`` (issue 15), kept apart from commands.py."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from paretoscope.core.errors import InputError

if TYPE_CHECKING:
    from paretoscope.profiling.plan import ProfilePlan
    from paretoscope.profiling.request import ProfileRequest
    from store import Store

__all__ = ["add_lm_arguments", "plan_lm", "resolve_task"]


def add_lm_arguments(pr: argparse.ArgumentParser) -> None:
    """``--prompt-len``, ``--gen-len`` and ``--context`` (causal LMs only)."""
    pr.add_argument(
        "--prompt-len",
        default="32,128",
        metavar="32,128",
        help="causal LM: comma list of prompt lengths in tokens (default 32,128)",
    )
    pr.add_argument(
        "--gen-len",
        default="32",
        metavar="32",
        help="causal LM: comma list of generated lengths in tokens, each >= 2 (default 32)",
    )
    pr.add_argument(
        "--context",
        type=int,
        default=128,
        metavar="N",
        help="causal LM: window of the perplexity score in tokens (default 128)",
    )


def resolve_task(task: str | None, model: str) -> str:
    """The task given, else ``causal-lm`` for a folder whose config names a causal LM."""
    if task is not None:
        return task
    from paretoscope.profiling.lm_plan import is_causal_lm_source

    return "causal-lm" if is_causal_lm_source(model) else "classification"


def _ints(flag: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise InputError(f"{flag} takes whole numbers separated by commas, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise InputError(f"{flag} takes whole numbers >= 1, got {text!r}")
    return values


def plan_lm(
    store: Store, request: ProfileRequest, args: Any, *, cluster: bool | None = None
) -> ProfilePlan:
    """The plan of a causal-LM profile from the command line's options."""
    from paretoscope.profiling.lm_plan import plan_lm_profile

    return plan_lm_profile(
        store,
        request,
        prompt_lens=_ints("--prompt-len", args.prompt_len),
        gen_lens=_ints("--gen-len", args.gen_len),
        context=int(args.context),
        cluster=cluster,
    )
