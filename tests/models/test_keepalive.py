"""KeepAliveTransport against raw HTTP/1.1 servers on 127.0.0.1 that do what real servers sometimes do."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx2
import pytest

from spinebench.models._keepalive import lean_http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, list[int]], Awaitable[None]]
REPLY = b'{"ok":true}'


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return await reader.readexactly(length)


def _exchange(handler: Handler, posts: int) -> tuple[list[httpx2.Response], list[int]]:
    """`posts` sequential POSTs through one client; returns the replies and the connection count."""
    connections: list[int] = []

    async def main() -> list[httpx2.Response]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            try:
                await handler(reader, writer, connections)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = lean_http_client(timeout=5.0)
        try:
            replies = []
            for number in range(posts):
                reply = await client.post(f"http://127.0.0.1:{port}/v1/x", content=b"body %d" % number)
                await reply.aread()
                replies.append(reply)
            return replies
        finally:
            await client.aclose()
            server.close()

    return asyncio.run(main()), connections


async def _keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    while True:
        body = await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()


def test_one_connection_carries_every_request() -> None:
    replies, connections = _exchange(_keep_alive, 5)
    assert [r.content for r in replies] == [b"body %d" % n for n in range(5)]
    assert len(connections) == 1


async def _close_silently(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(REPLY), REPLY))
    await writer.drain()  # then closes without saying so: the pooled connection goes stale


def test_a_request_on_a_connection_the_server_closed_is_sent_again_on_a_new_one() -> None:
    replies, connections = _exchange(_close_silently, 3)
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert len(connections) == 3


async def _chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    while True:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b'4;ext=1\r\n{"ok\r\n7\r\n":true}\r\n0\r\nX-Trailer: 1\r\n\r\n')
        await writer.drain()


def test_chunked_replies_are_read_whole_and_the_connection_kept() -> None:
    replies, connections = _exchange(_chunked, 2)
    assert [(r.status_code, r.content) for r in replies] == [(201, REPLY), (201, REPLY)]
    assert len(connections) == 1


async def _connection_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 503 Busy\r\nConnection: close\r\nRetry-After: 2\r\n\r\n" + REPLY)
    await writer.drain()


def test_a_reply_delimited_by_close_is_read_to_the_end_and_not_reused() -> None:
    replies, connections = _exchange(_connection_close, 2)
    assert [(r.status_code, r.headers["retry-after"], r.content) for r in replies] == [(503, "2", REPLY)] * 2
    assert len(connections) == 2


async def _cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial')
    await writer.drain()


def test_a_reply_cut_off_is_a_protocol_error_not_a_short_answer() -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match="broke off"):
        _exchange(_cut_off, 1)


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
    await writer.drain()


def test_a_reply_that_is_not_http_is_a_protocol_error() -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match=r"not an HTTP/1\.1 reply"):
        _exchange(_garbage, 1)
