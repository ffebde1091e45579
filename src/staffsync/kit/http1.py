"""uvicorn's HTTP/1.1 protocol, with each response sent in one write.

uvicorn writes a response's status line and headers, then its body, as two writes to the
socket, and each write that wakes the client costs a system call and a wake-up of the
other process (BENCHMARKS.md, "One write per response"). ``OneWrite`` holds the head
back until the body follows in the same turn of the loop, and sends both in one
``writev``; anything written alone is sent at the end of that turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _Joined:
    """A transport whose writes in one turn of the loop go out as one."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held = b""
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if self._held:  # one system call for both, without copying a large body
            self._transport.writelines((self._held, data))
            self._held = b""
            return
        self._held = data
        self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = b""
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return len(self._held) + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWrite(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Joined(transport))  # type: ignore[arg-type]
