"""A lean HTTP/1.1 keep-alive transport for the OpenAI client, for plain-http servers (vLLM, SGLang, Ollama).

The official client sends through httpx's default transport, whose connection pool checks every pooled
connection's socket on every request: with 64 questions in flight that cost more than a millisecond of CPU per
question, several times everything else SpineBench does for one. This transport keeps the client (its auth,
retry-free request building, status errors, timeouts) and replaces only the socket work: one request per
connection at a time, idle connections reused last-in first-out, the reply read whole (chat completions are
small JSON documents) and handed back to httpx, which decodes any content encoding.

Anything it does not handle itself (https, proxies are chosen by the caller) goes to httpx's own transport.
Errors are httpx's, so the client maps them as it always does (timeouts to `APITimeoutError`, the rest to
`APIConnectionError`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx2

_HEADER_END = b"\r\n\r\n"
_MAX_IDLE_PER_HOST = 256
_NO_BODY_STATUS = frozenset({204, 304})

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_Origin = tuple[str, int]


class _StaleConnection(Exception):
    """A reused connection was closed by the server before it answered: safe to send again on a new one."""


class KeepAliveTransport(httpx2.AsyncBaseTransport):
    def __init__(self) -> None:
        self._idle: defaultdict[_Origin, list[_Connection]] = defaultdict(list)
        self._fallback: httpx2.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.scheme != "http":
            if self._fallback is None:
                self._fallback = httpx2.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        origin = (url.host, url.port or 80)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head = _request_head(request)
        body = await request.aread()
        message = head + body if len(body) < 1 << 20 else None  # one send for the usual body
        while True:
            connection = self._take_idle(origin)
            reused = connection is not None
            if connection is None:
                connection = await _connect(origin, timeouts.get("connect"), request)
            try:
                status, reason, headers, content, keep = await _exchange(
                    connection, message, head, body, timeouts, request, reused=reused
                )
            except _StaleConnection:
                connection[1].close()
                continue  # the request never reached a live server: send it on a fresh connection
            except BaseException:
                connection[1].close()  # a half-read reply would corrupt the next one
                raise
            break
        if keep:
            self._give_back(origin, connection)
        else:
            connection[1].close()
        return httpx2.Response(
            status,
            headers=headers,
            stream=httpx2.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()
        if self._fallback is not None:
            await self._fallback.aclose()

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            reader, writer = idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    def _give_back(self, origin: _Origin, connection: _Connection) -> None:
        idle = self._idle[origin]
        if len(idle) < _MAX_IDLE_PER_HOST:
            idle.append(connection)
        else:
            connection[1].close()


def _request_head(request: httpx2.Request) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    lines.extend(b"%s: %s" % (name, value) for name, value in request.headers.raw)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


async def _connect(origin: _Origin, timeout: float | None, request: httpx2.Request) -> _Connection:
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.open_connection(*origin, limit=1 << 20)
    except TimeoutError as error:
        raise httpx2.ConnectTimeout(f"no connection to {origin[0]}:{origin[1]}", request=request) from error
    except OSError as error:
        raise httpx2.ConnectError(str(error) or type(error).__name__, request=request) from error


async def _exchange(
    connection: _Connection,
    message: bytes | None,
    head: bytes,
    body: bytes,
    timeouts: dict[str, float | None],
    request: httpx2.Request,
    *,
    reused: bool,
) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
    reader, writer = connection
    try:
        async with asyncio.timeout(timeouts.get("write")):
            if message is not None:
                writer.write(message)
            else:
                writer.write(head)
                writer.write(body)
            await writer.drain()
    except TimeoutError as error:
        raise httpx2.WriteTimeout("sending the request timed out", request=request) from error
    except OSError as error:
        if reused:
            raise _StaleConnection from error
        raise httpx2.WriteError(str(error) or type(error).__name__, request=request) from error
    try:
        async with asyncio.timeout(timeouts.get("read")):
            return await _read_reply(reader, request, reused=reused)
    except TimeoutError as error:
        raise httpx2.ReadTimeout("no reply in time", request=request) from error
    except OSError as error:
        raise httpx2.ReadError(str(error) or type(error).__name__, request=request) from error


async def _read_reply(
    reader: asyncio.StreamReader, request: httpx2.Request, *, reused: bool
) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
    while True:
        try:
            raw = await reader.readuntil(_HEADER_END)
        except asyncio.IncompleteReadError as error:
            if reused and not error.partial:
                raise _StaleConnection from error
            raise httpx2.RemoteProtocolError("server disconnected without a reply", request=request) from None
        except ConnectionResetError as error:
            if reused:
                raise _StaleConnection from error
            raise
        except asyncio.LimitOverrunError as error:
            raise httpx2.RemoteProtocolError("reply headers too large", request=request) from error
        status, reason, headers, fields = _parse_head(raw, request)
        if status >= 200 or status == 101:
            break  # 1xx (100 Continue, 103 Early Hints) precede the real reply
    keep = fields.get(b"connection", b"").lower() != b"close" and raw.startswith(b"HTTP/1.1")
    if request.method == "HEAD" or status in _NO_BODY_STATUS or 100 <= status < 200:
        return status, reason, headers, b"", keep
    try:
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            content = await _read_chunked(reader)
        elif b"content-length" in fields:
            content = await reader.readexactly(int(fields[b"content-length"]))
        else:
            content, keep = await reader.read(), False  # delimited by the server closing the connection
    except asyncio.IncompleteReadError:
        raise httpx2.RemoteProtocolError("reply broke off before its end", request=request) from None
    except ValueError as error:  # a Content-Length or chunk size that is not a number
        raise httpx2.RemoteProtocolError(f"malformed reply: {error}", request=request) from None
    return status, reason, headers, content, keep


def _parse_head(
    raw: bytes, request: httpx2.Request
) -> tuple[int, bytes, list[tuple[bytes, bytes]], dict[bytes, bytes]]:
    status_line, *lines = raw[: -len(_HEADER_END)].split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx2.RemoteProtocolError(f"not an HTTP/1.1 reply: {status_line[:80]!r}", request=request)
    headers: list[tuple[bytes, bytes]] = []
    fields: dict[bytes, bytes] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon:
            raise httpx2.RemoteProtocolError(f"malformed header line {line[:80]!r}", request=request)
        name, value = name.strip(), value.strip()
        headers.append((name, value))
        fields[name.lower()] = value
    reason = parts[2] if len(parts) > 2 else b""
    return int(parts[1]), reason, headers, fields


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    pieces: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the blank line
                pass
            return b"".join(pieces)
        pieces.append(await reader.readexactly(size))
        await reader.readexactly(2)


def lean_http_client(**kwargs: Any) -> httpx2.AsyncClient:
    """An httpx client with the OpenAI client's defaults (redirects followed) over `KeepAliveTransport`."""
    kwargs.setdefault("follow_redirects", True)
    return httpx2.AsyncClient(transport=KeepAliveTransport(), **kwargs)
