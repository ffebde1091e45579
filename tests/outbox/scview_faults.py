"""Our SCView, live on loopback, behind a middleware that misbehaves and remembers.

Faults are on the wire, never in our code: ``Faulty`` answers 500/429 instead of SCView,
answers slowly, or lets a write land and loses its answer; ``LiveScview.down()`` stops
the server so that connections are refused, and ``up()`` starts it on the same port.
Every request is recorded with its start and end times, for the tests that check who
pushed what, when.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from staffsync.kit.db import transaction
from staffsync.kit.server import ServerThread, free_port
from staffsync.scview.tenants import create_tenant
from staffsync.sync.scim_client import SCIM_ERROR, Target

Asgi = Callable[..., Any]


@dataclass(frozen=True)
class Hit:
    """One request as SCView's doorway saw it."""

    method: str
    path: str
    query: str
    body: bytes
    started: float
    ended: float
    status: int
    agent: str = ""


REFUSALS = frozenset({"500", "502", "409", "429"})


@dataclass
class Faulty:
    """ASGI middleware: ``mode`` None (pass), "500", "502", "409" or "429" (that status,
    as SCIM error JSON), "slow" (``slow`` seconds late), "lose" (a write takes effect,
    the client gets a 502), "hold" (a write waits, counted in ``held``, until the mode
    changes; then it goes through, or is refused if the new mode is a refusal);
    ``poison`` applies ``poison_fault`` (a mode) to any request whose target or body
    contains that text, whatever ``mode`` is."""

    app: Asgi
    mode: str | None = None
    poison: str | None = None
    poison_fault: str = "500"
    slow: float = 0.3
    retry_after: str = "30"
    hits: list[Hit] = field(default_factory=list)
    held: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: dict[str, Any], receive: Asgi, send: Asgi) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, body = time.monotonic(), await _read(receive)
        status = await self._answer(scope, body, send)
        query = scope["query_string"].decode()
        agent = dict(scope["headers"]).get(b"user-agent", b"").decode()
        hit = Hit(scope["method"], scope["path"], httpx.QueryParams(query).get("filter", ""),
                  body, started, time.monotonic(), status, agent)
        with self.lock:
            self.hits.append(hit)

    async def _answer(self, scope: dict[str, Any], body: bytes, send: Asgi) -> int:
        target = f"{scope['path']}?{httpx.QueryParams(scope['query_string'].decode())}"
        mode = self.mode
        if self.poison and (self.poison in target or self.poison.encode() in body):
            mode = self.poison_fault
        if mode == "slow":
            await asyncio.sleep(self.slow)
        if mode == "hold" and scope["method"] != "GET":
            await self._hold()
            mode = self.mode
        if mode in REFUSALS:
            return await _refuse(send, int(mode), self.retry_after)
        # Reads are answered; only a write's answer is lost (after it took effect).
        return await self._forward(scope, body, send, mode == "lose" and scope["method"] != "GET")

    async def _forward(self, scope: dict[str, Any], body: bytes, send: Asgi,
                       lose: bool) -> int:
        answered: list[int] = []

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
            if not lose:
                await send(message)

        await self.app(scope, replay, capture)
        if lose:
            return await _refuse(send, 502, "")
        return answered[0] if answered else 0

    async def _hold(self) -> None:
        with self.lock:
            self.held += 1
        while self.mode == "hold":
            await asyncio.sleep(0.02)

    def writes(self) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.method in ("POST", "PUT", "PATCH")]


async def _read(receive: Asgi) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _refuse(send: Asgi, status: int, retry_after: str) -> int:
    error = {"schemas": [SCIM_ERROR], "status": str(status), "detail": "refused (fault)"}
    if status == 409:
        error["scimType"] = "uniqueness"
    headers = [(b"content-type", b"application/scim+json")]
    if status == 429:
        headers.append((b"retry-after", retry_after.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(error).encode()})
    return status


class LiveScview:
    """SCView (``app``, on its own database) served on one fixed loopback port."""

    def __init__(self, app: Any, sessions: sessionmaker[Session]) -> None:
        self.faulty = Faulty(app)
        self.sessions = sessions
        self.port = free_port()
        self.server: ServerThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        if self.server is None:
            self.server = ServerThread(self.faulty, port=self.port).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def tenant(self) -> Target:
        database = f"district-{secrets.token_hex(4)}"
        with transaction(self.sessions) as session:
            return Target(self.url, database, create_tenant(session, database))

    def reset(self) -> None:
        self.faulty.mode = self.faulty.poison = None
        self.faulty.poison_fault, self.faulty.slow = "500", 0.3
        with self.faulty.lock:
            self.faulty.hits.clear()
            self.faulty.held = 0
        self.up()


def http(target: Target) -> httpx.Client:
    """A plain client on a tenant, to look at or change SCView behind the sync."""
    return httpx.Client(base_url=target.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {target.token}"})


def scview_users(target: Target) -> list[dict[str, Any]]:
    """Every user of the tenant, paged."""
    found: list[dict[str, Any]] = []
    with http(target) as client:
        while True:
            page = client.get("/Users", params={"startIndex": len(found) + 1, "count": 500})
            resources = page.raise_for_status().json().get("Resources") or []
            found += resources
            if not resources or len(found) >= page.json()["totalResults"]:
                return found
