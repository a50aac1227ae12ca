"""``python -m measure.cluster worker|devices``: see ``measure.cluster.entry``."""

from __future__ import annotations

import sys

from measure.cluster.entry import main

if __name__ == "__main__":
    sys.exit(main())
