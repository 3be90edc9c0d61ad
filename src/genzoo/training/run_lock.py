"""A run directory belongs to one training process at a time.

Two starts with the same `run_name` would otherwise write one `metrics.csv`, one `train.log`
and one `last.ckpt` in turns. The lock is an advisory `flock` on `<run dir>/.lock`, taken
before anything of the run is written and held until the process ends. The kernel drops it
when its process dies (a kill, a crash, a preempted node), so a lock file left behind by a
dead process is recognised as stale by simply being lockable again. The file says who holds
it (host, pid, start time) for the message the second start gets.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from genzoo.errors import GenzooError

LOCK_NAME = ".lock"


class RunLockedError(GenzooError):
    """Another live process trains into this run directory."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _acquire(run_dir: Path) -> int:
    """Open and lock the run's lock file; returns its descriptor. Raises RunLockedError."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(
                f"run directory {run_dir} is in use by {_holder(path)}: wait for it to end, "
                f"or choose another run_name (delete {path} only if no such process runs)"
            ) from None
        # The holder before us may have removed the file between our open and our lock:
        # then we hold a lock on a file nobody else can see, and must take the new one.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextlib.contextmanager
def run_lock(run_dir: Path, enabled: bool = True) -> Iterator[None]:
    """Hold the run directory's lock for the block; the lock file is removed at its end.

    `enabled=False` (DDP ranks other than 0, which write nothing of their own) takes none.
    """
    if not enabled:
        yield
        return
    created = not run_dir.exists()
    fd = _acquire(run_dir)
    path = run_dir / LOCK_NAME
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)  # releases the flock
        if created:  # the lock made the folder: a refused start leaves none behind
            with contextlib.suppress(OSError):
                run_dir.rmdir()  # only ever removes an empty folder
