"""KeepAlivePool against raw HTTP/1.1 servers on 127.0.0.1 that do what real servers sometimes do."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from spinebench.models._keepalive import HttpFailure, KeepAlivePool, Reply

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


@contextlib.asynccontextmanager
async def _serving(
    handler: Handler, connections: list[int], *, timeout: float = 5.0
) -> AsyncIterator[KeepAlivePool]:
    """A server on 127.0.0.1 running `handler` per connection (counted in `connections`), and a pool to it."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer, connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    pool = KeepAlivePool(
        "127.0.0.1", server.sockets[0].getsockname()[1], connect_timeout=5.0, timeout=timeout
    )
    try:
        yield pool
    finally:
        await pool.aclose()
        server.close()


def _exchange(handler: Handler, posts: int, *, timeout: float = 5.0) -> tuple[list[Reply], list[int]]:
    """`posts` sequential POSTs through one client; returns the replies and the connection count."""
    connections: list[int] = []

    async def main() -> list[Reply]:
        async with _serving(handler, connections, timeout=timeout) as pool:
            return [
                await pool.post(b"/v1/x", [(b"X-Test", b"1")], b"body %d" % number) for number in range(posts)
            ]

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
    assert [r.status for r in replies] == [200, 200, 200]
    assert len(connections) == 3


async def _chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    while True:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b'4;ext=1\r\n{"ok\r\n7\r\n":true}\r\n0\r\nX-Trailer: 1\r\n\r\n')
        await writer.drain()


def test_chunked_replies_are_read_whole_and_the_connection_kept() -> None:
    replies, connections = _exchange(_chunked, 2)
    assert [(r.status, r.content) for r in replies] == [(201, REPLY), (201, REPLY)]
    assert len(connections) == 1


async def _connection_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 503 Busy\r\nConnection: close\r\nRetry-After: 2\r\n\r\n" + REPLY)
    await writer.drain()


def test_a_reply_delimited_by_close_is_read_to_the_end_and_not_reused() -> None:
    replies, connections = _exchange(_connection_close, 2)
    assert [(r.status, r.headers["retry-after"], r.content) for r in replies] == [(503, "2", REPLY)] * 2
    assert len(connections) == 2


async def _cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial')
    await writer.drain()


def test_a_reply_cut_off_is_a_protocol_error_not_a_short_answer() -> None:
    with pytest.raises(HttpFailure, match="broke off") as failure:
        _exchange(_cut_off, 1)
    assert failure.value.kind == "broken"


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
    await writer.drain()


def test_a_reply_that_is_not_http_is_a_protocol_error() -> None:
    with pytest.raises(HttpFailure, match=r"not an HTTP/1\.1 reply") as failure:
        _exchange(_garbage, 1)
    assert failure.value.kind == "broken"


async def _echo_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        reply = head + body
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply))
        await writer.drain()


def test_the_request_carries_host_length_and_the_given_headers() -> None:
    (reply,), _ = _exchange(_echo_head, 1)
    head, _, body = reply.content.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/x HTTP/1.1"
    assert lines[1].startswith(b"Host: 127.0.0.1:")
    assert b"X-Test: 1" in lines
    assert b"Content-Length: 6" in lines
    assert body == b"body 0"


def _compressed(encoding: bytes, content: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
            % (encoding, len(content))
        )
        writer.write(content)
        await writer.drain()

    return handler


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        (b"gzip", gzip.compress(REPLY)),
        (b"deflate", zlib.compress(REPLY)),
        (b"deflate", zlib.compress(REPLY)[2:-4]),
    ],
)
def test_a_compressed_reply_is_decompressed(encoding: bytes, content: bytes) -> None:
    (reply,), _ = _exchange(_compressed(encoding, content), 1)
    assert reply.content == REPLY


def test_a_reply_in_an_encoding_not_asked_for_is_a_failure_not_garbage() -> None:
    with pytest.raises(HttpFailure, match="content encoding 'br'"):
        _exchange(_compressed(b"br", b"\x8b\x05\x80" + REPLY), 1)


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    await asyncio.sleep(5)


def test_a_server_that_never_answers_is_a_timeout() -> None:
    with pytest.raises(HttpFailure, match=r"no reply within 0\.2 s") as failure:
        _exchange(_silent, 1, timeout=0.2)
    assert failure.value.kind == "timeout"


def test_a_refused_connection_is_a_connect_failure() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        await KeepAlivePool("127.0.0.1", port, connect_timeout=5.0, timeout=5.0).post(b"/", [], b"")

    with pytest.raises(HttpFailure) as failure:
        asyncio.run(main())
    assert failure.value.kind == "connect"


async def _stray_bytes(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connections: list[int]
) -> None:
    number, first_connection = 0, len(connections) == 1
    while True:
        await _read_request(reader)
        reply = b'{"n":%d}' % number
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply))
        if number == 0 and first_connection:  # a second, unasked-for reply right behind the first
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{"n":999}')
        await writer.drain()
        number += 1


def test_bytes_beyond_a_reply_are_never_read_as_the_next_answer() -> None:
    replies, connections = _exchange(_stray_bytes, 3)
    assert [r.content for r in replies] == [b'{"n":0}', b'{"n":0}', b'{"n":1}']
    assert len(connections) == 2  # the connection with stray bytes was dropped, not reused


def test_a_server_that_takes_requests_and_drops_them_gets_each_at_most_twice() -> None:
    received: list[bytes] = []
    answering = [True]

    async def take_then_drop(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]
    ) -> None:
        while True:
            received.append(await _read_request(reader))
            if not answering[0]:
                return  # took the request, then closed without a word
            await asyncio.sleep(0.05)  # slow enough that the posts below overlap
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    async def main() -> None:
        async with _serving(take_then_drop, []) as pool:
            await asyncio.gather(*(pool.post(b"/", [], b"warm %d" % n) for n in range(6)))
            assert len(pool._idle) == 6
            answering[0] = False
            received.clear()
            with pytest.raises(HttpFailure, match="without a reply"):
                await pool.post(b"/", [], b"the question")

    asyncio.run(main())
    assert received == [b"the question"] * 2  # once on an idle connection, once on a new one; no more


async def _switching(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")
    await writer.drain()


async def _bad_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    await _read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"ok":1}\r\n0\r\n\r\n')
    await writer.drain()


@pytest.mark.parametrize(
    ("handler", "complaint"),
    [
        (_switching, "switched protocols"),
        (_bad_chunk, "chunk longer than its size"),
        (_compressed(b"gzip", gzip.compress(REPLY)[:-6]), "cut short"),
    ],
)
def test_replies_a_kept_connection_could_not_survive_are_failures(handler: Handler, complaint: str) -> None:
    with pytest.raises(HttpFailure, match=complaint) as failure:
        _exchange(handler, 1)
    assert failure.value.kind == "broken"
