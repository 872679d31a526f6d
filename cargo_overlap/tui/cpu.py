"""Machine CPU % sampled during a live build (psutil; non-blocking)."""

from __future__ import annotations

import psutil

# A build of hours sampled twice a second stays far below this.
_MAX_SAMPLES = 100_000


class CpuSampler:
    """Samples whole-machine CPU % against the run's clock.

    ``psutil.cpu_percent(interval=None)`` compares with the previous call instead of
    sleeping, so a sample costs one read of /proc/stat and never blocks the event loop.
    """

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        # The first reading is against boot time: discard it.
        psutil.cpu_percent(interval=None)

    def sample(self, t: float) -> None:
        """Record the CPU % since the previous call, stamped at run time ``t``."""
        pct = float(psutil.cpu_percent(interval=None))
        if self.samples and t <= self.samples[-1][0]:
            return
        self.samples.append((t, pct))
        if len(self.samples) > _MAX_SAMPLES:
            del self.samples[: len(self.samples) // 2]
