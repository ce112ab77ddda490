"""Bot processes started warm: `python -m bot` without paying its imports every time.

A test's bot process spends about three seconds of CPU importing aiogram, SQLAlchemy,
Alembic and the bot before it does anything; the suite starts dozens of them. Here one
process per test worker (the *starter*) imports all of that once, as `python -m bot` would
(the patches of bot/compat/ switched on first, by `tests/__init__.py`), and forks a bot
process for each start: the child takes the test's environment, working directory and
pipes, then runs the `bot` package as `__main__`, exactly what `python -m bot` runs. From
there on it is an ordinary process of its own: the test signals it, kills it, reads its
output and its exit code as it would a subprocess's.

The child is forked twice, so that it is orphaned and adopted by the test worker, which is
made a "child subreaper" (prctl PR_SET_CHILD_SUBREAPER): the worker can then wait for it
and read its exit status like any child of its own.

`QORGAU_COLD_STARTS=1` starts every bot process as a fresh `python -m bot` instead (and
`BotProcess(cold=True)` one of them): a warm start assumes nothing at import time depends
on the environment, which `tests/test_e2e.py` keeps checking with one cold start.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib
import json
import os
import select
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PR_SET_CHILD_SUBREAPER = 36
COLD = os.environ.get("QORGAU_COLD_STARTS") == "1"


class WarmProcess:
    """A warm-started bot process, with what the tests use of asyncio's `Process`."""

    def __init__(self, pid: int, stdout: asyncio.StreamReader, stderr: asyncio.StreamReader):
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None
        self._pidfd = os.pidfd_open(pid)

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(9)

    def terminate(self) -> None:
        self.send_signal(15)

    async def wait(self) -> int:
        if self.returncode is None:
            loop = asyncio.get_running_loop()
            ended = loop.create_future()

            def readable() -> None:
                if not ended.done():
                    ended.set_result(None)

            loop.add_reader(self._pidfd, readable)
            try:
                await ended
            finally:
                loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self.returncode = _reap(self.pid)
        return self.returncode

    async def communicate(self) -> tuple[bytes, bytes]:
        out, err = await asyncio.gather(self.stdout.read(), self.stderr.read())
        await self.wait()
        return out, err


def _reap(pid: int) -> int:
    """The exit code of a child that has ended (its pidfd was readable: no wait)."""
    _, status = os.waitpid(pid, os.WNOHANG)
    return os.waitstatus_to_exitcode(status)


class Starter:
    """The test worker's starter process (started on first use, ended with the worker)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
            ours, theirs = socket.socketpair()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.warm_start"],
                cwd=ROOT,
                stdin=theirs.fileno(),
            )
            theirs.close()
            self._sock = ours
        return self._sock

    def fork(self, args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int, int]:
        """A bot process running `python ARGS`: its pid and the read ends of its stdout and
        stderr."""
        sock = self._connect()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        request = json.dumps({"args": args, "env": env, "cwd": str(cwd)}).encode()
        try:
            socket.send_fds(sock, [struct.pack("!I", len(request)) + request], [out_w, err_w])
        finally:
            os.close(out_w)
            os.close(err_w)
        answer = _read_exactly(sock, 4)
        (pid,) = struct.unpack("!i", answer)
        if pid <= 0:
            raise RuntimeError("the warm starter could not fork a bot process")
        return pid, out_r, err_r

    def run(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """`python ARGS` (`-m bot …` or `-c SCRIPT …`) started warm, to its end, as
        tests/processes.py `python` runs it cold; never raises on its exit code."""
        pid, out_fd, err_fd = self.fork(list(args), dict(os.environ if env is None else env), cwd)
        output: dict[int, bytes] = {}
        readers = [
            threading.Thread(target=_drain, args=(fd, output), daemon=True)
            for fd in (out_fd, err_fd)
        ]
        for reader in readers:
            reader.start()
        pidfd = os.pidfd_open(pid)
        try:
            ended, _, _ = select.select([pidfd], [], [], timeout)
        finally:
            os.close(pidfd)
        if not ended:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        for reader in readers:
            reader.join()
        return subprocess.CompletedProcess(
            ["python", *args],
            os.waitstatus_to_exitcode(status),
            output[out_fd].decode(),
            output[err_fd].decode(),
        )

    async def start(self, args: list[str], env: dict[str, str], cwd: Path) -> WarmProcess:
        pid, out_fd, err_fd = self.fork(args, env, cwd)
        loop = asyncio.get_running_loop()
        readers = []
        for fd in (out_fd, err_fd):
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(
                lambda reader=reader: asyncio.StreamReaderProtocol(reader),  # type: ignore[misc]
                os.fdopen(fd, "rb", 0),
            )
            readers.append(reader)
        return WarmProcess(pid, readers[0], readers[1])


STARTER = Starter()


def _drain(fd: int, into: dict[int, bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        into[fd] = pipe.read()


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise RuntimeError("the warm starter ended")
        data += chunk
    return data


# The starter process itself (`python -m tests.warm_start`, its socket on stdin).


PRELOADED = (
    "aiohttp.web",
    "holidays.countries",
    "redis.asyncio",
    # What bot/__main__.py imports (not the module itself: `python -m bot` runs it afresh
    # as __main__, and runpy warns when it was imported before).
    "bot.appeals_cli",
    "bot.config",
    "bot.app",
    "bot.logs",
    "bot.runner",
    "bot.scale.webhook",
)


def _preload() -> None:
    """What `python -m bot` imports before its first update (tests/__init__.py has switched
    bot/compat/'s patches on already), and three things every bot process then computes
    alike, whatever its environment: the Telegram types each update needs
    (`lean_types.warm_up`, which the start's check runs), the holidays package's country
    calendars (imported on first use), and the shipped FAQ's tree and search index (a
    process cache keyed by the files' names, sizes and times: a changed or other directory
    is read afresh)."""
    for name in PRELOADED:
        importlib.import_module(name)
    from bot.compat import lean_types
    from bot.faq.content import CONTENT_DIR
    from bot.faq.library import FaqLibrary

    if lean_types.PATCH.on:
        lean_types.warm_up()
    FaqLibrary.from_directory(CONTENT_DIR)


def _serve() -> None:
    _preload()
    sock = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    while True:
        try:
            header, fds, _flags, _addr = socket.recv_fds(sock, 4, 2)
        except OSError:
            return
        if not header:
            return  # the worker has ended
        (size,) = struct.unpack("!I", header if len(header) == 4 else _pad(sock, header))
        request: dict[str, Any] = json.loads(_read_exactly(sock, size))
        report_r, report_w = os.pipe()
        middle = os.fork()
        if middle == 0:  # forks the bot process and ends at once: the bot is orphaned
            os.close(report_r)
            pid = os.fork()
            if pid == 0:
                os.close(report_w)
                sock.close()
                _run_bot(request, fds, devnull)
            os.write(report_w, struct.pack("!i", pid))
            os._exit(0)
        os.close(report_w)
        for fd in fds:
            os.close(fd)
        answer = os.read(report_r, 4)
        os.close(report_r)
        os.waitpid(middle, 0)  # gone: the bot process belongs to the worker now
        sock.sendall(answer if len(answer) == 4 else struct.pack("!i", -1))


def _pad(sock: socket.socket, header: bytes) -> bytes:
    return header + _read_exactly(sock, 4 - len(header))


def _run_bot(request: dict[str, Any], fds: list[int], devnull: int) -> None:
    """In the new process: `python -m bot ARGS` (or `python -c SCRIPT ARGS`) in the test's
    environment; never returns."""
    import atexit
    import runpy
    import traceback

    os.dup2(devnull, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in (*fds, devnull):
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if os.environ.get("PYTHONFAULTHANDLER"):  # as a fresh interpreter would read it
        import faulthandler

        faulthandler.enable()  # on the new stderr
    args: list[str] = request["args"]
    assert args[:2] == ["-m", "bot"] or args[0] == "-c", args
    code: int
    try:
        if args[0] == "-c":  # python -c SCRIPT ARGS
            sys.argv = ["-c", *args[2:]]
            exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = ["-m", *args[2:]]
            runpy.run_module("bot", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


if __name__ == "__main__":
    _serve()
