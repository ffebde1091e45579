"""Servers that misbehave for real, over loopback: the faults of the error catalogue.

Nothing here patches our code: each fault is a real HTTP server (or a real absence of
one) that the SCIM client meets on the wire.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import httpx
from scim2_server.applications.asgi import ASGIApplication, Receive, Scope, Send

from staffsync.kit.server import ServerThread
from staffsync.sync.scim_client import SCIM_ERROR


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]):
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_lifespan = ASGIApplication.serve_lifespan


def answering(
    status: int,
    body: bytes = b"",
    content_type: str = "text/plain",
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
) -> Callable[[Scope, Receive, Send], object]:
    """An ASGI app that answers every request the same way, after ``delay`` seconds."""
    raw = [(b"content-type", content_type.encode())] + [
        (k.encode(), v.encode()) for k, v in (headers or {}).items()
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await asyncio.sleep(delay)
        await _respond(send, status, body, raw)

    return app


Rule = Callable[[str, str], int | None]  # (method, path?query) -> a status to answer instead


class Proxy:
    """Forwards to ``upstream``; ``before`` can refuse a request, ``after`` can lose the answer.

    ``after`` returning a status means the request reached the upstream and took effect,
    but the client sees that status instead: "the write landed, the answer was lost".
    """

    def __init__(self, upstream: str, before: Rule | None = None, after: Rule | None = None):
        self.upstream = upstream
        self.before = before or (lambda method, target: None)
        self.after = after or (lambda method, target: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        method = scope["method"]
        target = f"{scope['path']}?{unquote(scope['query_string'].decode())}"
        status = self.before(method, target)
        if status is None:
            status, body, headers = await self.forward(scope, receive)
            status = self.after(method, target) or status
        else:
            body, headers = self.refusal(status), [(b"content-type", b"application/scim+json")]
            if status == 429:
                headers.append((b"retry-after", b"0"))  # "try again now": keeps tests fast
        await _respond(send, status, body, headers or [(b"content-type", b"application/json")])

    @staticmethod
    def refusal(status: int) -> bytes:
        """A SCIM error body, as a real provider refusing the request would send."""
        error = {"schemas": [SCIM_ERROR], "status": str(status), "detail": "refused (fault)"}
        return json.dumps(error).encode()

    async def forward(self, scope: Scope, receive: Receive):
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        url = f"{self.upstream}{scope['path']}?{scope['query_string'].decode()}"
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        async with httpx.AsyncClient() as client:
            response = await client.request(scope["method"], url, content=body, headers=headers)
        kept = [(b"content-type", response.headers.get("content-type", "").encode())]
        return response.status_code, response.content, kept


@contextmanager
def serving(app: object) -> Iterator[str]:
    """Run an ASGI app on loopback; yield its base URL."""
    with ServerThread(app) as server:
        yield server.url


@contextmanager
def plain_http_server(folder: Path) -> Iterator[str]:
    """Python's own file server (no SCIM at all): every SCIM path is a 404 HTML page."""

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
