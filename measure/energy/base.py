"""The energy meter interface, the null meter, and the statistics of one measured window.

A meter is started just before the first timed iteration and stopped just
after the last; ``stop(items)`` returns ``EnergyStats`` for that window.
Missing hardware gives ``EnergyStats.unavailable(reason)``, never a zero:
``NullMeter`` carries the reason, and ``energy_stats`` turns a counter that
did not move, or a window too short for its resolution, into one too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from paretoscope.core.records import EnergyStats

__all__ = ["EnergyMeter", "NullMeter", "energy_stats"]


class EnergyMeter(ABC):
    """Measures energy between ``start()`` and ``stop(items)``.

    ``min_window_s`` is the shortest timed window the meter can measure
    (the caller stretches its loop to it); ``provenance()`` gives facts of
    the last window as provenance ``env`` entries.
    """

    min_window_s: float = 0.0

    @abstractmethod
    def start(self) -> None:
        """Read the counters at the start of the window."""

    @abstractmethod
    def stop(self, items: int) -> EnergyStats:
        """Energy since ``start()``, in J, and per item for ``items`` items processed."""

    def provenance(self) -> dict[str, str]:
        """Facts of the last window as provenance ``env`` entries (strings); none by default."""
        return {}


@dataclass(frozen=True)
class NullMeter(EnergyMeter):
    """A meter for hosts without a counter: every window is unavailable, with ``reason``."""

    reason: str

    def start(self) -> None:
        """Nothing to read."""

    def stop(self, items: int) -> EnergyStats:
        """``EnergyStats.unavailable(reason)``."""
        return EnergyStats.unavailable(self.reason)


def energy_stats(
    energy_j: float,
    window_s: float,
    items: int,
    *,
    source: str,
    counter: str,
    min_window_s: float = 0.0,
) -> EnergyStats:
    """``EnergyStats`` of ``energy_j`` J counted over ``window_s`` s for ``items`` items.

    Unavailable, with the reason naming ``counter`` (e.g. ``the NVML energy
    counter``), when the counter did not advance (a counter that did not
    move is not evidence of zero energy) or when the window was shorter than
    90% of ``min_window_s``, the window its resolution needs. Energy per
    item is None for no items and average power (W) None for an empty window.
    """
    if energy_j <= 0:
        return EnergyStats.unavailable(
            f"{counter} did not advance over the {window_s:.3g} s window"
        )
    if window_s < 0.9 * min_window_s:
        return EnergyStats.unavailable(
            f"the timed window ({window_s:.3g} s) was shorter than the "
            f"{min_window_s:.3g} s {counter} needs for its resolution"
        )
    return EnergyStats(
        energy_j=energy_j,
        energy_j_per_item=energy_j / items if items > 0 else None,
        avg_power_w=energy_j / window_s if window_s > 0 else None,
        source=source,
        window_s=window_s,
    )
