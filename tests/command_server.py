"""Runs genzoo's console scripts for the tests in processes forked from one warm interpreter.

A console script spends most of a short test run importing torch, Lightning, torchvision and
torchmetrics (about 5 s each time on a 2-core machine). This server imports them once; for
each command it forks a child, which is a fresh process in everything a command can see
(its own argv, environment, working directory, stdin from /dev/null, stdout and stderr to
files, exit code), runs the script's entry point as the script would (`sys.exit(main())`),
runs the exit handlers a normal exit runs, and exits. Nothing of a command reaches the next.

What a forked child cannot show: what happens at import (the modules are already loaded) and
how a process reacts to signals from outside. Tests of those start a real process
(`run_cli(..., fresh=True)` or subprocess); so does every test when GENZOO_TESTS_FRESH=1.

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout.
Started by path (not `-m`), so that Lightning's DDP launcher, which starts the other ranks
with `sys.executable` and `sys.argv`, runs the console script and not this server.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from typing import Any

# What every command imports anyway: loaded once, before any fork.
PRELOAD = (
    "torch",
    "torchvision",
    "torchmetrics",
    "lightning",
    "hydra",
    "omegaconf",
    "genzoo.models.loading",
    "genzoo.training.train",
    "genzoo.training.fit",
    "genzoo.tasks.sample",
    "genzoo.tasks.evaluate",
)


def _exit_code(value: Any) -> int:
    """sys.exit(value)'s exit status: None is 0, a number itself, anything else printed and 1."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def _child(request: dict[str, Any], out: int, err: int) -> None:
    """In the forked child: become the command, run it, exit (never returns)."""
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["script"], *request["args"]]
        module, _, function = request["entry"].partition(":")
        try:
            code = _exit_code(getattr(importlib.import_module(module), function)())
        except SystemExit as stop:
            code = _exit_code(stop.code)
        except BaseException:
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()  # what a normal exit runs: W&B's finish, logging's flush
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run(request: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            _child(request, out.fileno(), err.fileno())
        deadline = time.monotonic() + float(request["timeout"])
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                timed_out = True
                break
            time.sleep(0.01)
        out.seek(0)
        err.seek(0)
        return {
            "returncode": os.waitstatus_to_exitcode(status),
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
            "timed_out": timed_out,
        }


def serve() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a stray print of this server must not corrupt the replies
    print("ready", file=channel, flush=True)
    for line in sys.stdin:
        channel.write(json.dumps(_run(json.loads(line))) + "\n")
        channel.flush()


if __name__ == "__main__":
    serve()
