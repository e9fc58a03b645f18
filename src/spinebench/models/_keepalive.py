"""HTTP/1.1 keep-alive POSTs to a plain-http server (a local vLLM, SGLang, Ollama), without an HTTP library.

For a server on this machine or the LAN, what a client spends on each request decides throughput. The
official OpenAI client's request path (its options models, header merging, httpx's Request and Response
objects and connection pool) costs ~0.7 ms of CPU per request; the socket work itself costs under 0.1 ms
(docs/performance.md). So plain-http servers reached without a proxy get this: one request per connection at a
time, idle connections reused last-in first-out, the reply read whole (chat completions are small JSON
documents). https and proxied URLs keep the official client and its transport.

Failures are `HttpFailure` with a kind the provider maps to its error kinds. A request that meets a reused
connection the server had closed (an idle timeout) is sent again on a new one: it never reached the server.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

_HEADER_END: Final = b"\r\n\r\n"
_MAX_IDLE: Final = 256
_NO_BODY_STATUS: Final = frozenset({204, 304})
_READ_LIMIT: Final = 1 << 20  # the longest header block accepted

FailureKind = Literal["connect", "connect_timeout", "timeout", "broken"]
_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpFailure(Exception):
    """No usable reply: no connection (`connect`, `connect_timeout`), none in time (`timeout`), or a reply
    that broke off or is not HTTP (`broken`)."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names in lower case; a repeated header keeps its last value
    content: bytes  # with any gzip or deflate content encoding undone


class _StaleConnection(Exception):
    """A reused connection was closed by the server before it answered: safe to send again on a new one."""


class KeepAlivePool:
    """Connections to one `host:port`: `post` sends a request on an idle one (or a new one), reads the reply.

    `connect_timeout` bounds opening a connection, `timeout` the whole exchange after it (sending the
    request and reading the reply).
    """

    def __init__(self, host: str, port: int, *, connect_timeout: float, timeout: float) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._idle: list[_Connection] = []
        shown = f"[{host}]" if ":" in host else host  # an IPv6 literal goes in brackets
        self.host_header = f"{shown}:{port}".encode()

    async def post(self, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> Reply:
        """POST `body` to `target` (the path, e.g. b"/v1/chat/completions") with `headers` besides Host and
        Content-Length."""
        lines = [b"POST %s HTTP/1.1" % target, b"Host: " + self.host_header]
        lines.extend(b"%s: %s" % pair for pair in headers)
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        message = b"\r\n".join(lines) + body
        while True:
            connection = self._take_idle()
            reused = connection is not None
            if connection is None:
                connection = await self._connect()
            try:
                async with asyncio.timeout(self.timeout):
                    status, fields, content, keep = await _exchange(connection, message, reused=reused)
            except _StaleConnection:
                connection[1].close()
                continue  # the request never reached a live server: send it on a fresh connection
            except TimeoutError:
                connection[1].close()
                raise HttpFailure("timeout", f"no reply within {self.timeout:g} s") from None
            except BaseException:
                connection[1].close()  # a half-read reply would corrupt the next one
                raise
            break
        if keep and len(self._idle) < _MAX_IDLE:
            self._idle.append(connection)
        else:
            connection[1].close()
        return Reply(status, fields, _decoded(content, fields.get("content-encoding", "")))

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            reader, writer = self._idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await asyncio.open_connection(self.host, self.port, limit=_READ_LIMIT)
        except TimeoutError:
            message = f"no connection to {self.host}:{self.port} in {self.connect_timeout:g} s"
            raise HttpFailure("connect_timeout", message) from None
        except OSError as error:
            raise HttpFailure("connect", str(error) or type(error).__name__) from error


async def _exchange(
    connection: _Connection, message: bytes, *, reused: bool
) -> tuple[int, dict[str, str], bytes, bool]:
    reader, writer = connection
    try:
        writer.write(message)
        await writer.drain()
    except OSError as error:
        if reused:
            raise _StaleConnection from error
        raise HttpFailure("broken", f"sending the request failed: {error}") from error
    try:
        return await _read_reply(reader, reused=reused)
    except OSError as error:
        if reused and isinstance(error, ConnectionResetError):
            raise _StaleConnection from error
        raise HttpFailure("broken", f"reading the reply failed: {error}") from error


async def _read_reply(
    reader: asyncio.StreamReader, *, reused: bool
) -> tuple[int, dict[str, str], bytes, bool]:
    while True:
        try:
            raw = await reader.readuntil(_HEADER_END)
        except asyncio.IncompleteReadError as error:
            if reused and not error.partial:
                raise _StaleConnection from error
            raise HttpFailure("broken", "the server closed the connection without a reply") from None
        except asyncio.LimitOverrunError:
            raise HttpFailure("broken", "reply headers too large") from None
        status, fields = _parse_head(raw)
        if status >= 200 or status == 101:
            break  # 1xx (100 Continue, 103 Early Hints) precede the real reply
    keep = fields.get("connection", "").lower() != "close" and raw.startswith(b"HTTP/1.1")
    if status in _NO_BODY_STATUS or 100 <= status < 200:
        return status, fields, b"", keep
    try:
        if "chunked" in fields.get("transfer-encoding", "").lower():
            content = await _read_chunked(reader)
        elif "content-length" in fields:
            content = await reader.readexactly(int(fields["content-length"]))
        else:
            content, keep = await reader.read(), False  # delimited by the server closing the connection
    except asyncio.IncompleteReadError:
        raise HttpFailure("broken", "the reply broke off before its end") from None
    except (ValueError, asyncio.LimitOverrunError) as error:  # a length that is not a number
        raise HttpFailure("broken", f"malformed reply: {error}") from None
    return status, fields, content, keep


def _parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = raw[: -len(_HEADER_END)].split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HttpFailure("broken", f"not an HTTP/1.1 reply: {status_line[:80]!r}")
    fields: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon:
            raise HttpFailure("broken", f"malformed header line {line[:80]!r}")
        fields[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return int(parts[1]), fields


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


def _decoded(content: bytes, encoding: str) -> bytes:
    """The body without its content encoding (none is asked for; a server may compress all the same)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return content
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            # wbits 47: a gzip or zlib header, whichever it is; raw deflate (no header) is retried below.
            return zlib.decompressobj(47).decompress(content)
        except zlib.error:
            try:
                return zlib.decompressobj(-15).decompress(content)
            except zlib.error as error:
                raise HttpFailure("broken", f"a {encoding} reply that does not decompress: {error}") from None
    raise HttpFailure("broken", f"a reply in content encoding {encoding!r}, which was not asked for")
