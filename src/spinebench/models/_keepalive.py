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
_HEX_DIGITS: Final = frozenset(b"0123456789abcdefABCDEF")

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
        Content-Length. `timeout` bounds the exchange from the first send to the reply, a resend on a fresh
        connection included; each connection attempt has `connect_timeout`."""
        lines = [b"POST %s HTTP/1.1" % target, b"Host: " + self.host_header]
        lines.extend(b"%s: %s" % pair for pair in headers)
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        message = b"\r\n".join(lines) + body
        status, fields, content = await self._send(message)
        return Reply(status, fields, _decoded(content, fields.get("content-encoding", "")))

    async def _send(self, message: bytes) -> tuple[int, dict[str, str], bytes]:
        # An idle connection first; if the server had closed it before a byte of reply came (an idle
        # timeout), once more on a new connection, never more: a server that takes requests and drops the
        # connection must not get the same question again and again.
        connection = self._take_idle()
        deadline: float | None = None
        for reused in (connection is not None, False):
            if connection is None:
                connection = await self._connect()
            deadline = deadline or asyncio.get_running_loop().time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    status, fields, content, keep = await _exchange(connection, message, reused=reused)
            except _StaleConnection:
                connection[1].close()
                connection = None
                continue
            except TimeoutError:
                connection[1].close()
                raise HttpFailure("timeout", f"no reply within {self.timeout:g} s") from None
            except BaseException:
                connection[1].close()  # a half-read reply would corrupt the next one
                raise
            # Bytes beyond the reply (a second reply, a body longer than said) would be read as the next
            # question's answer: such a connection is never reused.
            if keep and not _unread(connection[0]) and len(self._idle) < _MAX_IDLE:
                self._idle.append(connection)
            else:
                connection[1].close()
            return status, fields, content
        raise HttpFailure("broken", "the server closed a new connection without a reply")

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            reader, writer = self._idle.pop()
            if not writer.is_closing() and not reader.at_eof() and not _unread(reader):
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
        raise HttpFailure("broken", f"reading the reply failed: {error}") from error


async def _read_reply(
    reader: asyncio.StreamReader, *, reused: bool
) -> tuple[int, dict[str, str], bytes, bool]:
    first = True
    while True:
        try:
            raw = await reader.readuntil(_HEADER_END)
        except asyncio.IncompleteReadError as error:
            if reused and first and not error.partial:
                raise _StaleConnection from error
            raise HttpFailure("broken", "the server closed the connection without a reply") from None
        except ConnectionResetError as error:
            if reused and first:
                raise _StaleConnection from error
            raise
        except asyncio.LimitOverrunError:
            raise HttpFailure("broken", "reply headers too large") from None
        first = False
        status, fields = _parse_head(raw)
        if status == 101:
            raise HttpFailure("broken", "the server switched protocols (HTTP 101) instead of answering")
        if status >= 200:
            break  # 1xx (100 Continue, 103 Early Hints) precede the real reply
    keep = fields.get("connection", "").lower() != "close" and raw.startswith(b"HTTP/1.1")
    if status in _NO_BODY_STATUS:
        return status, fields, b"", keep
    encodings = [
        part.strip().lower() for part in fields.get("transfer-encoding", "").split(",") if part.strip()
    ]
    try:
        if encodings:
            if encodings[-1] != "chunked":
                raise HttpFailure("broken", f"a reply in transfer encoding {encodings[-1]!r}")
            content = await _read_chunked(reader)
        elif "content-length" in fields:
            content = await reader.readexactly(_content_length(fields["content-length"]))
        else:
            content, keep = await reader.read(), False  # delimited by the server closing the connection
    except asyncio.IncompleteReadError:
        raise HttpFailure("broken", "the reply broke off before its end") from None
    except asyncio.LimitOverrunError:
        raise HttpFailure("broken", "a chunk header too long") from None
    return status, fields, content, keep


def _content_length(value: str) -> int:
    lengths = {part.strip() for part in value.split(",")}  # "10, 10" from a proxy that joined two
    if len(lengths) != 1 or not next(iter(lengths)).isdigit():
        raise HttpFailure("broken", f"malformed Content-Length {value[:40]!r}")
    return int(lengths.pop())


def _unread(reader: asyncio.StreamReader) -> bool:
    """Whether bytes the server sent are waiting unread (StreamReader keeps them in `_buffer`)."""
    return bool(getattr(reader, "_buffer", b""))


def _parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = raw[: -len(_HEADER_END)].split(b"\r\n")
    parts = status_line.split(b" ", 2)
    valid = len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and len(parts[1]) == 3
    if not valid or not parts[1].isdigit() or not b"100" <= parts[1] <= b"599":
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
        size_line = (await reader.readuntil(b"\r\n"))[:-2]
        digits = size_line.split(b";", 1)[0].strip()
        if not digits or not all(c in _HEX_DIGITS for c in digits) or len(digits) > 16:
            raise HttpFailure("broken", f"malformed chunk size {size_line[:40]!r}")
        size = int(digits, 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the blank line
                pass
            return b"".join(pieces)
        pieces.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise HttpFailure("broken", "a chunk longer than its size")


def _decoded(content: bytes, encoding: str) -> bytes:
    """The body without its content encoding (none is asked for; a server may compress all the same)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return content
    if encoding in ("gzip", "x-gzip", "deflate"):
        # wbits 47: a gzip or zlib header, whichever it is; raw deflate (no header) is tried next.
        for wbits in (47, -15):
            decompressor = zlib.decompressobj(wbits)
            try:
                data = decompressor.decompress(content)
            except zlib.error:
                continue
            if decompressor.eof and not decompressor.unused_data:
                return data
            raise HttpFailure("broken", f"a {encoding} reply cut short or followed by other data")
        raise HttpFailure("broken", f"a {encoding} reply that does not decompress")
    raise HttpFailure("broken", f"a reply in content encoding {encoding!r}, which was not asked for")
