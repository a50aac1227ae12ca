"""The demo's language-model family: its members, their recipe ids, its refusals (no training)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from measure.llm.family import LM_FAMILY, family, member_id
from paretoscope.core.errors import InputError


def test_members_grow_in_width_depth_and_training_tokens() -> None:
    widths = [m.spec.n_embd for m in LM_FAMILY]
    depths = [m.spec.n_layer for m in LM_FAMILY]
    tokens = [m.tokens_seen for m in LM_FAMILY]
    assert widths == sorted(widths) and depths == sorted(depths) and tokens == sorted(tokens)
    assert len({m.config.vocab_size for m in LM_FAMILY}) == 1  # one shared tokenizer
    assert all(not m.spec.tied for m in LM_FAMILY)
    assert all(f"{m.config.steps} steps" in m.describe() for m in LM_FAMILY)


def test_family_size_is_checked() -> None:
    assert family() == LM_FAMILY and family(0) == () and family(1) == LM_FAMILY[:1]
    for bad in (-1, len(LM_FAMILY) + 1):
        with pytest.raises(InputError, match="0 to 3 members"):
            family(bad)


def test_ids_name_the_recipe_and_the_text() -> None:
    a, b = LM_FAMILY[:2]
    assert member_id(a, "text-1") == member_id(a, "text-1")
    assert member_id(a, "text-1").startswith(f"demo-{a.name}-")
    assert member_id(a, "text-1") != member_id(a, "text-2") != member_id(b, "text-2")
    longer = replace(a, config=replace(a.config, steps=a.config.steps + 1))
    assert member_id(longer, "text-1") != member_id(a, "text-1")
    # The wall-time guard is not part of the recipe.
    guarded = replace(a, config=replace(a.config, budget_s=1.0))
    assert member_id(guarded, "text-1") == member_id(a, "text-1")
