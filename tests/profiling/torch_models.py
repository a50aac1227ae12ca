"""Trusted local PyTorch models for ``paretoscope profile module:function`` tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def classifier() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    """A seeded ``Linear → ReLU → Linear`` digits-shaped classifier and an example batch of 2."""
    import torch

    torch.manual_seed(0)

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Sequential(
                torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.body(x)
            return out

    return Classifier().eval(), (torch.randn(2, 64),)
