"""Which processes a program started, and whether they still run, read from Linux's /proc
(elsewhere these answer "none": the checks that use them are for tests and clean-up)."""

from __future__ import annotations

import contextlib
import os
import signal
import time


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may hold spaces and parentheses: split after its last ")".
        return stat.read().rsplit(")", 1)[1].split()


def descendants(root: int) -> tuple[int, ...]:
    """Every process below `root` (children, their children...), sorted."""
    if not os.path.isdir("/proc"):
        return ()
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents[int(entry)] = int(_stat_fields(int(entry))[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return tuple(sorted(found))


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie counts as ended)."""
    try:
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def command_line(pid: int) -> str:
    """Process `pid`'s command line, words joined by spaces ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def end(pids: tuple[int, ...], *, grace_s: float) -> None:
    """Wait up to `grace_s` for `pids` to exit, then kill those still running."""
    deadline = time.monotonic() + grace_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
