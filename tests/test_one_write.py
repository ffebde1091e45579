"""Each response goes to the socket in one write (``kit.http1``): uvicorn writes a
response's head and its body separately, and on loopback each write costs a system
call and a wake-up of the client."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from staffsync.kit.http1 import _Joined
from staffsync.kit.server import ServerThread


class Recorder:
    """A transport that records what is written to it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def writelines(self, chunks: tuple[bytes, ...]) -> None:  # one write, as uvloop's writev
        self.write(b"".join(chunks))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


def test_writes_in_one_turn_of_the_loop_go_out_as_one_and_a_lone_one_at_its_end() -> None:
    async def scenario() -> list[list[bytes]]:
        recorder = Recorder()
        joined = _Joined(recorder)  # type: ignore[arg-type]
        seen = []
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        seen.append(list(recorder.writes))  # the head alone is held back
        joined.write(b"body")
        seen.append(list(recorder.writes))
        joined.write(b"a lone write")
        seen.append(list(recorder.writes))
        await asyncio.sleep(0)
        seen.append(list(recorder.writes))
        joined.write(b"last")
        joined.close()  # what is held goes out before the close
        assert recorder.closed and joined.get_extra_info("peername") == "info peername"
        seen.append(list(recorder.writes))
        return seen

    with ThreadPoolExecutor(1) as thread:  # the browser tests' loop may run in this one
        head, joined, alone, flushed, closed = thread.submit(asyncio.run, scenario()).result()
    assert head == []
    assert joined == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    assert alone == joined
    assert flushed == [*joined, b"a lone write"]
    assert closed == [*flushed, b"last"]


def test_a_server_answers_in_one_write_each_and_streams_and_keeps_connections_alive() -> None:
    """Through a real server: plain answers on a kept-alive connection, and a streamed
    answer whose chunks come in several turns of the loop."""

    async def plain(request):  # type: ignore[no-untyped-def]
        return JSONResponse({"n": int(request.path_params["n"])})

    async def streamed(_request):  # type: ignore[no-untyped-def]
        async def chunks():  # type: ignore[no-untyped-def]
            for index in range(3):
                await asyncio.sleep(0.01)
                yield f"chunk {index};".encode()

        return StreamingResponse(chunks())

    app = Starlette(routes=[Route("/plain/{n}", plain), Route("/streamed", streamed)])
    with ServerThread(app) as server:
        with httpx.Client(base_url=server.url) as client:
            assert [client.get(f"/plain/{n}").json() for n in range(5)] == [
                {"n": n} for n in range(5)
            ]
            assert client.get("/streamed").text == "chunk 0;chunk 1;chunk 2;"
        with socket.create_connection((server.host, server.port)) as raw:
            raw.sendall(b"GET /plain/7 HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = raw.recv(65536)  # the whole answer arrives in one segment
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b'{"n":7}')
