"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests and throughput benchmarks.

It speaks real HTTP/1.1 with keep-alive, so the official client, its connection pool and its error handling
are exercised exactly as against vLLM or a hosted API. What each request gets back is decided by a `Script`:
`script(body, call_index) -> StubReply`, where `call_index` counts earlier requests with the same user text
(0 for the first), so "fail twice, then answer" is easy to say for one question among many concurrent ones.

Run as a process for benchmarks::

    python -m spinebench.testing.openai_stub --port 0 --answer "My final option: [A]"

It prints its base URL on the first line of stdout and serves until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

DEFAULT_ANSWER = "The disc spaces look preserved.\nMy final option: [A]"
DEFAULT_MODEL = "stub-model"


@dataclass(frozen=True, slots=True)
class StubReply:
    """One scripted reply. Build it with `answer`, `error` or `raw`.

    `delay` seconds pass before anything is sent (a client timeout shorter than that sees a timeout).
    `body`, when set, is sent as it is instead of a chat completion (invalid JSON, odd error bodies).
    """

    text: str | None = DEFAULT_ANSWER
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    delay: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 12
    finish_reason: str = "stop"
    reasoning: str | None = None  # sent as the message's `reasoning_content`, as vLLM's reasoning parsers do

    @classmethod
    def answer(
        cls,
        text: str | None = DEFAULT_ANSWER,
        *,
        prompt_tokens: int = 100,
        completion_tokens: int = 12,
        finish_reason: str = "stop",
        delay: float = 0.0,
        reasoning: str | None = None,
    ) -> StubReply:
        """A normal chat completion whose message content is `text` (None sends `"content": null`)."""
        return cls(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason,
            delay=delay,
            reasoning=reasoning,
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        delay: float = 0.0,
    ) -> StubReply:
        """An HTTP error; the body is an OpenAI-style `{"error": {...}}` unless `body` is given."""
        if body is None:
            error = {"message": message or f"stub error {status}", "type": "stub_error", "code": status}
            body = json.dumps({"error": error}).encode()
        return cls(text=None, status=status, headers=tuple((headers or {}).items()), body=body, delay=delay)

    @classmethod
    def raw(
        cls, body: bytes, *, status: int = 200, content_type: str = "application/json", delay: float = 0.0
    ) -> StubReply:
        """Bytes sent as they are with the given content type (e.g. truncated JSON)."""
        return cls(
            text=None, status=status, headers=(("Content-Type", content_type),), body=body, delay=delay
        )


Script = Callable[[dict[str, Any], int], StubReply]


def answer_script(text: str = DEFAULT_ANSWER, *, delay: float = 0.0) -> Script:
    """Every request gets the same answer (the throughput benchmark's server)."""
    reply = StubReply.answer(text, delay=delay)

    def script(body: dict[str, Any], call_index: int) -> StubReply:
        return reply

    return script


ReplyPlan = StubReply | Sequence[StubReply] | Callable[[dict[str, Any], int], StubReply]


def script_by_marker(rules: Mapping[str, ReplyPlan], default: Script | None = None) -> Script:
    """Replies chosen by the first marker (in `rules` order) found in the request's user text.

    A plan is one reply for every call, a sequence indexed by the call index (its last reply repeats), or a
    script of its own. Requests without a marker go to `default` (an instant `DEFAULT_ANSWER`).
    """
    fallback = default or answer_script()

    def script(body: dict[str, Any], call_index: int) -> StubReply:
        text = user_text(body)
        for marker, plan in rules.items():
            if marker in text:
                if isinstance(plan, StubReply):
                    return plan
                if callable(plan):
                    return plan(body, call_index)
                return plan[min(call_index, len(plan) - 1)]
        return fallback(body, call_index)

    return script


def user_text(body: Mapping[str, Any]) -> str:
    """The text parts of the request's user messages, joined by newlines."""
    parts: list[str] = []
    for message in body.get("messages") or ():
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            texts = (
                part.get("text") for part in content if isinstance(part, dict) and part.get("type") == "text"
            )
            parts.extend(str(text) for text in texts if text is not None)
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as the server received it (header names lower-cased)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def user_text(self) -> str:
        return user_text(self.body)

    @property
    def image_urls(self) -> list[str]:
        urls: list[str] = []
        for message in self.body.get("messages") or ():
            content = message.get("content") if isinstance(message, dict) else None
            for part in content if isinstance(content, list) else ():
                if isinstance(part, dict) and part.get("type") == "image_url":
                    urls.append(str(part.get("image_url", {}).get("url", "")))
        return urls


@dataclass
class _State:
    script: Script
    record: int
    model: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: dict[bytes, int] = field(default_factory=dict)
    total: int = 0
    recorded: deque[RecordedRequest] = field(init=False)

    def __post_init__(self) -> None:
        self.recorded = deque(maxlen=max(self.record, 0))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # socketserver's default backlog of 5 drops connections at high concurrency
    block_on_close = False  # a reply still sleeping out its delay must not hold up shutdown
    state: _State


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    disable_nagle_algorithm = True  # headers and body go out in two writes; do not wait 40 ms between them
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None  # no per-request logging: the benchmark server must stay cheap

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            model = {"id": self.server.state.model, "object": "model", "created": 0, "owned_by": "spinebench"}
            self._send(200, json.dumps({"object": "list", "data": [model]}).encode())
        else:
            self._send_error(404, f"no route for GET {self.path}")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_error(404, f"no route for POST {self.path}")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_error(400, "request body is not JSON")
            return
        if not isinstance(body, dict):
            self._send_error(400, "request body is not a JSON object")
            return
        state = self.server.state
        # A digest, not the text: a benchmark server sees tens of thousands of distinct questions.
        key = hashlib.blake2b(user_text(body).encode(), digest_size=16).digest()
        with state.lock:
            call_index = state.calls.get(key, 0)
            state.calls[key] = call_index + 1
            state.total += 1
            number = state.total
            if state.record:
                headers = {name.lower(): value for name, value in self.headers.items()}
                state.recorded.append(RecordedRequest(self.path, headers, body))
        try:
            reply = state.script(body, call_index)
        except Exception as error:  # a broken script is a test bug: say so in the reply, keep serving
            self._send_error(500, f"stub script raised {type(error).__name__}: {error}")
            return
        if reply.delay > 0:
            time.sleep(reply.delay)
        if reply.body is not None:
            self._send(reply.status, reply.body, reply.headers)
        else:
            self._send(reply.status, _completion_json(reply, body.get("model", state.model), number))

    def _send_error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"error": {"message": message, "type": "stub_error"}}).encode())

    def _send(self, status: int, payload: bytes, headers: Sequence[tuple[str, str]] = ()) -> None:
        try:
            self.send_response(status)
            if not any(name.lower() == "content-type" for name, _ in headers):
                self.send_header("Content-Type", "application/json")
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout fired during our delay)


def _completion_json(reply: StubReply, model: object, number: int) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    completion = {
        "id": f"chatcmpl-stub-{number}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }
    return json.dumps(completion).encode()


class OpenAIStubServer:
    """The stub server; a context manager that serves from a background thread.

    `record` bounds how many requests are kept for inspection (0 keeps none, for benchmarks).
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        record: int = 1000,
        model: str = DEFAULT_MODEL,
    ) -> None:
        self._state = _State(script=script or answer_script(), record=record, model=model)
        self._host = host
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`, what a client takes as its base URL."""
        if self._httpd is None:
            raise RuntimeError("the stub server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first."""
        with self._state.lock:
            return list(self._state.recorded)

    @property
    def request_count(self) -> int:
        """Chat requests received so far (recorded or not)."""
        with self._state.lock:
            return self._state.total

    def _bind(self) -> _Server:
        if self._httpd is None:
            self._httpd = _Server((self._host, self._port), _Handler)
            self._httpd.state = self._state
        return self._httpd

    def start(self) -> OpenAIStubServer:
        """Binds and serves from a daemon thread; returns at once."""
        if self._thread is None:
            httpd = self._bind()
            # A short poll interval: `stop()` waits for the loop to notice, and tests stop many servers.
            self._thread = threading.Thread(
                target=httpd.serve_forever, args=(0.02,), name="openai-stub", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join()
            self._httpd = None
            self._thread = None

    def serve_forever(self, ready: Callable[[str], None] | None = None) -> None:
        """Serves in the calling thread until interrupted; `ready(base_url)` is called once bound."""
        httpd = self._bind()
        if ready is not None:
            ready(self.base_url)
        try:
            httpd.serve_forever()
        finally:
            httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spinebench.testing.openai_stub",
        description="Serve a fixed answer on an OpenAI-compatible /v1/chat/completions endpoint.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--answer", default=DEFAULT_ANSWER, help="message content of every reply")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each reply")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model id listed by GET /v1/models")
    args = parser.parse_args(argv)
    script = answer_script(args.answer, delay=args.delay)
    server = OpenAIStubServer(script, host=args.host, port=args.port, record=0, model=args.model)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(ready=lambda base_url: print(base_url, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
