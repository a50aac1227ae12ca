"""Progress per device of a sweep measured on several devices at once (a Dask cluster).

A batch's per-device progress is ``{device: (done, total)}``: a device is a
Dask resource (``cpu``, ``gpu-h200``) or, for a run fanned out to every
device, ``resource @ worker``. These helpers turn it into the words and bars
the terminal and the Jobs view show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from paretoscope.core.progress import done_fraction

__all__ = ["DeviceBar", "device_bars", "devices_text"]


@dataclass(frozen=True)
class DeviceBar:
    """One device's share of a batch: ``done`` of ``total`` runs."""

    device: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Share done, in [0, 1]."""
        return done_fraction(self.done, self.total)

    @property
    def text(self) -> str:
        """E.g. ``gpu-h200: 3/8 runs``."""
        return f"{self.device}: {self.done}/{self.total} run" + ("s" if self.total != 1 else "")


def device_bars(per_device: Mapping[str, Sequence[int]]) -> list[DeviceBar]:
    """One bar per device, sorted by name; entries that are not two counts are left out."""
    bars = []
    for name, counts in sorted(per_device.items()):
        try:
            done, total = (int(c) for c in counts)
        except (TypeError, ValueError):
            continue
        if total > 0:
            bars.append(DeviceBar(str(name), max(0, min(done, total)), total))
    return bars


def devices_text(per_device: Mapping[str, Sequence[int]]) -> str:
    """``cpu 2/4 · gpu-h200 1/4``: each device's done/total runs; empty when there is none."""
    return " · ".join(f"{b.device} {b.done}/{b.total}" for b in device_bars(per_device))
