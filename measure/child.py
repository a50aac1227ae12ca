"""What every child process of ``measure`` does at its end: hand back JSON, then exit.

The worker, the inspector and the variant maker each run in a fresh process
and answer their parent through a result file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["exit_child", "write_result"]


def write_result(path: Path, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` so the parent never reads half of it.

    Written to ``<path>.partial`` and renamed, which is atomic on POSIX.
    """
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


def exit_child(main: Callable[[], int]) -> None:
    """Run ``main`` and exit with its status, skipping interpreter teardown.

    The result is on disk by then, and native runtimes' thread pools and exit
    hooks have been known to hang or crash in teardown.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
