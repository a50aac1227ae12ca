"""The one child-process launcher: limits, the group kill, the result file, the stderr tail."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paretoscope.core import launcher
from paretoscope.core.launcher import ChildOutcome, child_env, module_argv, run_child
from tests.cli.serving import alive, descendants, wait_until

REPO = Path(__file__).resolve().parents[2]
CHILD = "tests.core.launcher_child"


def _run(mode: str, *extra: str, **kw: object) -> ChildOutcome:
    return run_child(CHILD, [mode, *extra], timeout_s=kw.pop("timeout_s", 30.0), **kw)  # type: ignore[arg-type]


def test_a_result_file_comes_back_parsed() -> None:
    outcome = _run("ok")
    assert outcome.returncode == 0 and outcome.killed is None
    assert outcome.result == {"answer": 42, "argv": ["ok"]}
    assert outcome.result_error is None


def test_stderr_tail_and_exit_status_of_a_crash() -> None:
    outcome = _run("crash")
    assert outcome.returncode == 3
    assert outcome.exit_text == "exit status 3"
    assert outcome.result is None
    assert launcher.last_line(outcome.stderr_tail) == "Fatal: the child gave up"


def test_a_half_written_result_is_reported_not_raised() -> None:
    outcome = _run("garbage")
    assert outcome.result is None
    assert outcome.result_error is not None and outcome.result_error.startswith("JSONDecodeError")


def test_the_time_limit_kills_the_whole_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    t0 = time.monotonic()
    outcome = _run("hang", str(pid_file), timeout_s=2.0)
    assert outcome.killed == "timeout"
    assert outcome.returncode == -9 and outcome.exit_text == "signal SIGKILL"
    assert time.monotonic() - t0 < 20
    grandchild = int(pid_file.read_text())
    # The kernel reaps the orphan shortly after the kill.
    assert wait_until(lambda: not alive(grandchild), 5.0)


def test_should_stop_kills_the_whole_group_long_before_the_time_limit(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    asked: list[float] = []

    def should_stop() -> bool:
        asked.append(time.monotonic())
        return pid_file.exists()  # stop once the child is up and has its helper

    outcome = _run("hang", str(pid_file), timeout_s=300.0, should_stop=should_stop)
    assert outcome.killed == "stopped" and outcome.returncode == -9
    assert outcome.elapsed_s < 60, "stopped, not timed out"
    assert len(asked) >= 1
    grandchild = int(pid_file.read_text())
    assert wait_until(lambda: not alive(grandchild), 5.0)


def test_a_child_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    # SIGKILL of a parent's group (e.g. of `paretoscope profile`) does not reach a child,
    # which has its own group; the kernel kills it instead (PR_SET_PDEATHSIG).
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [sys.executable, "-c", (
            "import pathlib, sys; from paretoscope.core.launcher import run_child; "
            f"run_child({CHILD!r}, ['hang', '-'], timeout_s=600, "
            f"on_start=lambda pid: pathlib.Path({str(pid_file)!r}).write_text(str(pid)))"
        )],
        cwd=REPO, env=child_env(),
    )  # fmt: skip
    try:
        assert wait_until(lambda: pid_file.exists() and bool(pid_file.read_text()), 30.0)
        child = int(pid_file.read_text())
        assert alive(child)
    finally:
        parent.kill()
        parent.wait()
    assert wait_until(lambda: not alive(child), 10.0)


def test_run_foreground_forwards_sigterm_to_the_childs_group(tmp_path: Path) -> None:
    import signal
    import threading

    pid_file = tmp_path / "grandchild.pid"
    argv = [sys.executable, "-m", CHILD, "hang", str(pid_file), "--result", str(tmp_path / "r")]

    def send_when_up() -> None:
        wait_until(pid_file.exists, 30.0)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=send_when_up, daemon=True)
    before = signal.getsignal(signal.SIGTERM)
    sender.start()
    code = launcher.run_foreground(argv, cwd=REPO, env={"PYTHONPATH": str(REPO)}, grace_s=5.0)
    assert code == 0, "stopped by a forwarded signal"
    assert signal.getsignal(signal.SIGTERM) == before, "the handler is restored"
    grandchild = int(pid_file.read_text())
    assert wait_until(lambda: not alive(grandchild), 5.0)


def test_the_server_dies_with_a_sigkilled_run_foreground(tmp_path: Path) -> None:
    # SIGKILL of `serve` cannot be forwarded; the kernel must still stop its server.
    parent = subprocess.Popen(
        [sys.executable, "-c", (
            "from pathlib import Path; import sys; from paretoscope.core import launcher; "
            f"launcher.run_foreground([sys.executable, '-m', {CHILD!r}, 'hang', '-', "
            f"'--result', {str(tmp_path / 'r')!r}], cwd=Path({str(REPO)!r}), "
            f"env={{'PYTHONPATH': {str(REPO)!r}}})"
        )],
        cwd=REPO, env=child_env(),
    )  # fmt: skip
    try:
        assert wait_until(lambda: bool(descendants(parent.pid)), 30.0), "the child started"
        children = descendants(parent.pid)
        time.sleep(0.5)  # past exec
    finally:
        parent.kill()
        parent.wait()
    assert wait_until(lambda: not any(alive(c) for c in children), 10.0)


def test_the_memory_limit_uses_the_callers_reader() -> None:
    outcome = _run("hang", "-", mem_limit_mb=100.0, rss_mb=lambda pid: 500.0)
    assert outcome.killed == "memory" and outcome.rss_mb == 500.0


def test_a_watched_pipe_is_relayed_and_stdin_is_fed() -> None:
    read_fd, write_fd = os.pipe()
    chunks: list[bytes] = []
    pids: list[int] = []
    try:
        outcome = _run(
            "echo",
            env={"LAUNCHER_TEST_FD": str(write_fd)},
            stdin=b"hello",
            pass_fd=write_fd,
            watch_fd=read_fd,
            on_output=chunks.append,
            on_start=pids.append,
        )
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert outcome.result == {"stdin": "hello"}
    assert b"".join(chunks) == b"stage-1\n"
    assert len(pids) == 1


def test_an_exception_in_a_callback_propagates_after_the_kill() -> None:
    seen: list[int] = []

    def boom(pid: int) -> None:
        seen.append(pid)
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        _run("hang", "-", on_start=boom)
    assert not alive(seen[0])


def test_children_never_see_the_working_directory_first() -> None:
    env = child_env()
    assert env["PYTHONSAFEPATH"] == "1"
    assert str(REPO) in env["PYTHONPATH"].split(os.pathsep)
    assert module_argv("measure.worker", ["--x"], python="py") == [
        "py",
        "-m",
        "measure.worker",
        "--x",
    ]


def test_a_missing_interpreter_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        run_child(CHILD, ["ok"], timeout_s=5, python=str(tmp_path / "no-python"))


# Every child process is started by the launcher, so fixing it once fixes it everywhere.
_SPAWNERS = {
    ("subprocess", "Popen"),
    ("subprocess", "run"),
    ("subprocess", "call"),
    ("subprocess", "check_call"),
    ("subprocess", "check_output"),
    ("os", "killpg"),
    ("os", "fork"),
    ("os", "posix_spawn"),
    ("os", "system"),
}


def test_no_module_but_the_launcher_starts_or_kills_processes() -> None:
    offenders = []
    for top in ("paretoscope", "measure", "store"):
        for path in (REPO / top).rglob("*.py"):
            if path == REPO / "paretoscope" / "core" / "launcher.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and (node.func.value.id, node.func.attr) in _SPAWNERS
                ):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
                if isinstance(node, ast.ImportFrom) and node.module in (
                    "subprocess",
                    "multiprocessing",
                ):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} (from-import)")
    assert not offenders, offenders
    assert sys.modules["paretoscope.core.launcher"] is launcher
