"""Drain mode: a terminating MLflow pod tells keep-alive clients to go elsewhere.

Kubernetes takes a terminating pod out of its Service while the preStop hook runs, but a
connection a client already holds stays pinned to that pod. When the server then gets
SIGTERM it closes its idle keep-alive connections at once, and a request the client sends
on one at that instant is lost (ConnectionResetError / RemoteDisconnected) with nothing to
say whether the server saw it.

The preStop hook (`mlflow-entrypoint drain`) creates the drain file; from then on every
response carries `Connection: close`, so the client closes the connection itself after the
response it was waiting for and opens its next one through the Service, to a pod that
stays. A connection left idle for the whole pause is closed by uvicorn's keep-alive timeout
(5 s, shorter than the pause) before SIGTERM, so none is left for the shutdown to cut.

uvicorn loads this as its HTTP protocol: `--http mlflow_drain:DrainingH11Protocol`
(mlflow-entrypoint passes it through `mlflow server --uvicorn-opts`). The drain file's path
comes from env MLFLOW_DRAIN_FILE, which mlflow-entrypoint sets.
"""

from __future__ import annotations

import os

from uvicorn.protocols.http.h11_impl import H11Protocol

CLOSE = (b"connection", b"close")


class DrainMiddleware:
    """ASGI middleware: while `path` exists, every HTTP response says `Connection: close`."""

    def __init__(self, app, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing_when_draining(message) -> None:
            if message["type"] == "http.response.start" and os.path.exists(self.path):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, CLOSE]}
            await send(message)

        await self.app(scope, receive, send_closing_when_draining)


class DrainingH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the application wrapped in DrainMiddleware.

    h11 reads the `Connection: close` response header, and uvicorn closes the connection
    once that response is sent.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.app = DrainMiddleware(self.app, os.environ.get("MLFLOW_DRAIN_FILE", "/tmp/mlflow-draining"))
