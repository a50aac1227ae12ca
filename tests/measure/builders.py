"""Builders for the warm-worker tests, imported by the worker as ``tests.measure.builders:NAME``."""

from __future__ import annotations

import numpy as np
import torch

from measure.testing import tiny_mlp


def big_then_free(mb: int) -> torch.nn.Module:
    """Builder that makes ``mb`` MB resident (touched pages), frees it, and builds a ``tiny_mlp``.

    The run's peak memory includes the ``mb`` MB; the process keeps none of it.
    """
    block = np.ones(mb * 1_000_000 // 8, dtype=np.float64)  # np.ones writes every page
    del block
    return tiny_mlp()
