"""mlflow_drain on a real uvicorn: keep-alive as usual, `Connection: close` once draining.

Run from the venv made by packages/testbed/scripts/install-python.sh:
    <venv>/bin/python -m pytest images/mlflow/tests
"""

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

IMAGE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(IMAGE_DIR))
import mlflow_drain  # noqa: E402

APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2"),
                            (b"connection", b"keep-alive")]})
    await send({"type": "http.response.body", "body": b"ok"})
'''
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """uvicorn with `--http mlflow_drain:DrainingH11Protocol`, as mlflow-entrypoint starts it."""
    (tmp_path / "drain_test_app.py").write_text(APP)
    drain_file = tmp_path / "mlflow-draining"
    port = free_port()
    env = {**os.environ, "MLFLOW_DRAIN_FILE": str(drain_file),
           "PYTHONPATH": os.pathsep.join([str(IMAGE_DIR), str(tmp_path)])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--http", "mlflow_drain:DrainingH11Protocol",
         "--host", "127.0.0.1", "--port", str(port), "drain_test_app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"uvicorn did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    yield port, drain_file
    proc.terminate()
    proc.wait(timeout=30)


def read_response(sock: socket.socket) -> bytes:
    """One response (the test app always answers `ok`, 2 bytes)."""
    data = b""
    while not (b"\r\n\r\n" in data and data.endswith(b"ok")):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"the server closed the connection mid-response: {data!r}")
        data += chunk
    return data


def test_connections_are_kept_alive_while_not_draining(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(REQUEST)
            response = read_response(sock).lower()
            assert b"connection: close" not in response


def test_draining_answers_connection_close_and_closes_the_connection(server):
    port, drain_file = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(REQUEST)
        assert b"connection: close" not in read_response(sock).lower()
        drain_file.touch()
        sock.sendall(REQUEST)
        response = read_response(sock).lower()
        assert b"connection: close" in response
        assert b"connection: keep-alive" not in response
        # The server closes its end after that response: the next read is end-of-file.
        assert sock.recv(4096) == b""


def test_the_middleware_passes_non_http_scopes_through_untouched(tmp_path):
    drain_file = tmp_path / "d"
    drain_file.touch()
    seen = []

    async def app(scope, receive, send):
        await send({"type": "lifespan.startup.complete"})

    async def send(message):
        seen.append(message)

    asyncio.run(mlflow_drain.DrainMiddleware(app, str(drain_file))({"type": "lifespan"}, None, send))
    assert seen == [{"type": "lifespan.startup.complete"}]
