"""CPU energy from Intel RAPL through the Linux powercap interface.

AMD Zen reports through the same ``intel-rapl`` zones. The counter is
package-wide: it includes every other process on the socket, which is one
more reason runs never execute concurrently.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from measure.energy.base import EnergyMeter, NullMeter, energy_stats
from paretoscope.core.errors import MeasurementError
from paretoscope.core.records import EnergyStats

__all__ = ["POWERCAP_ROOT", "RaplDomain", "RaplMeter", "cpu_energy_meter", "rapl_domains"]

POWERCAP_ROOT = Path("/sys/class/powercap")
# Top-level zones only ("intel-rapl:0", not the "intel-rapl:0:0" subzones,
# whose energy is already inside their package's).
_TOP_ZONE = re.compile(r"^intel-rapl:\d+$")


@dataclass(frozen=True)
class RaplDomain:
    """One powercap zone: its ``energy_uj`` counter and the value at which it wraps to 0."""

    name: str
    energy_path: Path
    max_energy_range_uj: int


def _read_counter_uj(path: Path) -> int:
    """Read one powercap counter file (µJ). The only place this module touches the hardware."""
    return int(path.read_text().strip())


def rapl_domains(root: Path = POWERCAP_ROOT) -> list[RaplDomain]:
    """The package-level RAPL zones under ``root``, sorted by name; [] when there are none.

    Zones named ``psys`` (whole platform, overlapping the packages) are left
    out so energy is not counted twice. Raises ``OSError`` (e.g.
    ``PermissionError``) when a zone exists but cannot be read.
    """
    if not root.is_dir():
        return []
    domains = []
    for zone in sorted(root.iterdir(), key=lambda p: p.name):
        if not _TOP_ZONE.match(zone.name):
            continue
        energy = zone / "energy_uj"
        if not energy.exists():
            continue
        label_path = zone / "name"
        label = label_path.read_text().strip() if label_path.exists() else zone.name
        if label.startswith("psys"):
            continue
        _read_counter_uj(energy)  # surfaces PermissionError now, not mid-run
        max_range = _read_counter_uj(zone / "max_energy_range_uj")
        domains.append(RaplDomain(f"{zone.name} ({label})", energy, max_range))
    return domains


class RaplMeter(EnergyMeter):
    """Sums the RAPL package counters over a window, correcting one wraparound per counter.

    A counter wraps at ``max_energy_range_uj`` (about 2^32 µJ, i.e. minutes at
    full power); a window longer than one wrap period would be undercounted,
    which our windows of a few seconds never are.
    """

    def __init__(self, domains: list[RaplDomain]) -> None:
        if not domains:
            raise MeasurementError("RaplMeter needs at least one RAPL domain")
        self.domains = tuple(domains)
        self._start_uj: list[int] | None = None
        self._start_ns = 0

    def start(self) -> None:
        """Read every counter and the clock."""
        self._start_uj = [_read_counter_uj(d.energy_path) for d in self.domains]
        self._start_ns = time.perf_counter_ns()

    def stop(self, items: int) -> EnergyStats:
        """Energy since ``start()`` in J; unavailable with a reason if the counters cannot say.

        Raises ``MeasurementError`` when called before ``start()``.
        """
        if self._start_uj is None:
            raise MeasurementError("RaplMeter.stop() called before start()")
        try:
            end_uj = [_read_counter_uj(d.energy_path) for d in self.domains]
        except OSError as err:
            return EnergyStats.unavailable(f"RAPL counter became unreadable: {err}")
        window_s = (time.perf_counter_ns() - self._start_ns) / 1e9
        total_uj = 0
        for domain, a, b in zip(self.domains, self._start_uj, end_uj, strict=True):
            delta = b - a
            if delta < 0:  # the counter wrapped once during the window
                delta += domain.max_energy_range_uj
            total_uj += delta
        self._start_uj = None
        # RAPL updates about every millisecond; a counter that did not move
        # gives "unavailable", not zero.
        return energy_stats(total_uj / 1e6, window_s, items, source="rapl", counter="RAPL counters")


def cpu_energy_meter(root: Path = POWERCAP_ROOT) -> EnergyMeter:
    """A RAPL meter when the powercap counters under ``root`` are readable, else a ``NullMeter``.

    The null meter's reason says what is missing and, for a permission
    problem, how to fix it. Never raises for missing hardware.
    """
    try:
        domains = rapl_domains(root)
    except PermissionError as err:
        path = err.filename or f"{root}/intel-rapl:*/energy_uj"
        return NullMeter(
            f"permission denied reading {path}; run as root or "
            f"`sudo chmod a+r {root}/intel-rapl:*/energy_uj` (Linux >= 5.10 makes it root-only)"
        )
    except (OSError, ValueError) as err:
        return NullMeter(f"cannot read the RAPL counters under {root}: {err}")
    if not domains:
        return NullMeter(f"no RAPL powercap interface at {root} on this host")
    return RaplMeter(domains)
