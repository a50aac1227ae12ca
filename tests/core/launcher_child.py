"""The child that tests/core/test_launcher.py starts: ``MODE [ARG] --result FILE``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from paretoscope.core.launcher import exit_child, write_result


def main() -> int:
    args = sys.argv[1:]
    result = Path(args[args.index("--result") + 1])
    mode = args[0]
    if mode == "ok":
        write_result(result, {"answer": 42, "argv": args[: args.index("--result")]})
    elif mode == "crash":
        print("noise", file=sys.stderr)
        print("Fatal: the child gave up", file=sys.stderr)
        return 3
    elif mode == "garbage":
        result.write_text("{not json")
    elif mode == "echo":
        os.write(int(os.environ["LAUNCHER_TEST_FD"]), b"stage-1\n")
        write_result(result, {"stdin": sys.stdin.read()})
    elif mode == "hang":
        if args[1] != "-":  # a grandchild in the same group, to show the group is killed
            grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            Path(args[1]).write_text(str(grandchild.pid))
        time.sleep(600)
    return 0


if __name__ == "__main__":
    exit_child(main)
