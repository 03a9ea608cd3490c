"""dbt invocations forked from a process that has already imported dbt.

dagster-dbt runs every dbt step as a subprocess of `dbt_executable`, and each spent about
1.3 CPU-s importing dbt-core and its adapters before its first node; a lead loop runs four dbt
steps, so that was a quarter of a small loop's dbt time. A fork of a process that has made
those imports starts in milliseconds and is still a process of its own, as a subprocess is:
dbt's global state, its DuckDB handle and its exit code are the invocation's alone.

Two halves, one module so they cannot drift apart:
- the server (`python -m orchestration.dbt_forkserver`), started by `ensure_server` on the
  first dbt step of a Dagster process, lives as long as that process (it reads the end of a
  pipe the parent holds). It forks once per request from its main thread.
- the client, the `leadloop-dbt` console script that dagster-dbt runs as its dbt executable: it
  hands its stdin/stdout/stderr, argv, working directory and environment to the server, relays
  SIGINT/SIGTERM to the forked dbt, and exits with dbt's exit code. Without a server (no
  `LEADLOOP_DBT_FORKSERVER` in its environment, or the server gone) it becomes plain `dbt`.

The client imports nothing beyond the standard library, so its own start costs milliseconds.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SOCKET_ENV = "LEADLOOP_DBT_FORKSERVER"
_HEADER = struct.Struct("!I")  # request length; then the reply: dbt's exit code
_SIGNALS = {b"I": signal.SIGINT, b"T": signal.SIGTERM}

_server: subprocess.Popen | None = None
_server_lock = threading.Lock()


def real_dbt() -> str:
    """The dbt beside this interpreter: what a request runs, and the client's fallback."""
    return str(Path(sys.executable).with_name("dbt"))


# --- parent side ----------------------------------------------------------------------------


def ensure_server() -> None:
    """Starts this process's fork server once and points `SOCKET_ENV` at it, which the dbt
    subprocesses dagster-dbt starts inherit. The parent binds the socket itself and passes it
    down, so a client can connect at once; the server accepts when its imports are done."""
    global _server
    with _server_lock:
        if _server is not None and _server.poll() is None:
            return
        folder = tempfile.mkdtemp(prefix="leadloop-dbt-")
        path = os.path.join(folder, "dbt.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        _server = subprocess.Popen(
            [sys.executable, "-m", "orchestration.dbt_forkserver", str(listener.fileno())],
            stdin=subprocess.PIPE,  # its end of life: EOF when this process goes
            pass_fds=[listener.fileno()],
            cwd=str(Path(__file__).resolve().parents[1]),
        )
        listener.close()
        os.environ[SOCKET_ENV] = path
        atexit.register(_stop_server, _server, folder)


def _stop_server(server: subprocess.Popen, folder: str) -> None:
    if server.stdin:
        server.stdin.close()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)


# --- server ---------------------------------------------------------------------------------


def serve(listener_fd: int) -> None:
    """Imports dbt, then forks one child per request until the parent's pipe closes."""
    listener = socket.socket(fileno=listener_fd)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    import dbt.adapters.duckdb  # noqa: F401  (the imports every invocation would repeat)
    import dbt.adapters.postgres  # noqa: F401
    import dbt.cli.main  # noqa: F401

    while True:
        conn, _ = listener.accept()
        try:
            request, fds = _receive(conn)
        except (OSError, ValueError):
            conn.close()
            continue
        pid = os.fork()  # from the main thread: no other thread's lock is copied held
        if pid == 0:
            listener.close()
            conn.close()
            _run_dbt(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        threading.Thread(target=_attend, args=(conn, pid), daemon=True).start()


def _exit_with_parent() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
    if len(head) != _HEADER.size or len(fds) != 3:
        raise ValueError("incomplete request")
    (size,) = _HEADER.unpack(head)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ValueError("incomplete request")
        body += chunk
    return json.loads(body), fds


def _run_dbt(request: dict, fds: list[int]) -> None:
    """In the forked child: become the client's dbt process, then exit with dbt's code."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [real_dbt(), *request["args"]]
        from dbt.cli.main import cli

        try:
            cli.main(args=request["args"], prog_name="dbt")
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException as error:  # reported on the client's stderr, as a failing dbt would
        print(f"leadloop-dbt: {error!r}", file=sys.stderr)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _attend(conn: socket.socket, pid: int) -> None:
    """Relays the client's signals to its dbt, then answers with dbt's exit code."""

    def relay() -> None:
        try:
            while data := conn.recv(1):
                if data in _SIGNALS:
                    os.kill(pid, _SIGNALS[data])
        except OSError:  # the child has exited, or the connection is closed
            return

    threading.Thread(target=relay, daemon=True).start()
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        conn.sendall(_HEADER.pack(os.waitstatus_to_exitcode(status) & 0xFFFFFFFF))
    conn.close()


# --- client ---------------------------------------------------------------------------------


def client_main() -> None:
    """`leadloop-dbt …`: dbt, run by the fork server when there is one."""
    args = sys.argv[1:]
    path = os.environ.get(SOCKET_ENV)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not path:
            raise OSError("no fork server")
        conn.connect(path)
        body = json.dumps({"args": args, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        socket.send_fds(conn, [_HEADER.pack(len(body))], [0, 1, 2])
        conn.sendall(body)
    except OSError:
        conn.close()
        os.execv(real_dbt(), [real_dbt(), *args])
    for name, signum in (("I", signal.SIGINT), ("T", signal.SIGTERM)):
        signal.signal(signum, lambda *_, n=name: conn.send(n.encode()))
    reply = b""
    while len(reply) < _HEADER.size:
        chunk = conn.recv(_HEADER.size - len(reply))
        if not chunk:
            sys.exit(1)  # the server died with the request
        reply += chunk
    (code,) = _HEADER.unpack(reply)
    sys.exit(code - (1 << 32) if code >= 1 << 31 else code)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
