"""https and proxied endpoints go through the official OpenAI client; plain-http ones never load it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx2
import openai
import pytest

from spinebench.errors import ModelSpecError
from spinebench.models import ChatRequest, ProviderError, ProviderOptions, RetryPolicy, _openai_client
from spinebench.models.openai_compat import OpenAICompatProvider

KEY_ENV = "SPINEBENCH_TEST_OPENAI_KEY"
KEY = "sk-test-0123456789abcdef"
ONE_ATTEMPT = RetryPolicy(max_attempts=1)


def _completion(text: str) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    }


def _served(monkeypatch: pytest.MonkeyPatch, reply: httpx2.Response, seen: list[httpx2.Request]) -> None:
    """The official client, talking to `reply` instead of the network."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return reply

    real = openai.AsyncOpenAI

    def client(**kwargs: Any) -> openai.AsyncOpenAI:
        kwargs["http_client"] = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
        return real(**kwargs)

    monkeypatch.setattr(_openai_client.openai, "AsyncOpenAI", client)
    monkeypatch.setenv(KEY_ENV, KEY)


def _ask(options: ProviderOptions) -> Any:
    async def once() -> Any:
        provider = OpenAICompatProvider("m", options)
        try:
            return await provider.complete(ChatRequest(id="q1", text="Which?", image=None))
        finally:
            await provider.aclose()

    return asyncio.run(once())


def _options() -> ProviderOptions:
    return ProviderOptions(base_url="https://models.example.org/v1", api_key_env=KEY_ENV, retry=ONE_ATTEMPT)


def test_an_https_endpoint_is_asked_through_the_client_with_the_bearer_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[httpx2.Request] = []
    _served(monkeypatch, httpx2.Response(200, json=_completion("My final option: [B]")), seen)
    completion = _ask(_options())
    assert completion.text == "My final option: [B]"
    assert (completion.input_tokens, completion.output_tokens) == (7, 3)
    (request,) = seen
    assert str(request.url) == "https://models.example.org/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content)["messages"][0]["content"][0]["text"] == "Which?"


def test_a_status_error_from_the_client_keeps_its_kind_and_wait_and_hides_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reply = httpx2.Response(429, headers={"Retry-After": "3"}, text=f"slow down, {KEY}")
    _served(monkeypatch, reply, [])
    with pytest.raises(ProviderError) as raised:
        _ask(_options())
    error = raised.value
    assert (error.kind, error.status, error.retry_after) == ("rate_limit", 429, 3.0)
    assert KEY not in str(error) and "[redacted]" in str(error)


def test_a_plain_http_provider_never_loads_the_openai_client() -> None:
    code = (
        "import sys\n"
        "from spinebench.models import ProviderOptions\n"
        "from spinebench.models.openai_compat import OpenAICompatProvider\n"
        "OpenAICompatProvider('m', ProviderOptions(base_url='http://127.0.0.1:9/v1'))\n"
        "from spinebench.run import evaluate\n"
        "print(sorted(m for m in ('openai', 'httpx2', 'pydantic') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def _raw_server_run(reply: bytes, options_key: str, monkeypatch: pytest.MonkeyPatch) -> ProviderError:
    """One question against a server on 127.0.0.1 that answers `reply` as raw bytes."""
    monkeypatch.setenv(KEY_ENV, options_key)

    async def main() -> ProviderError:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        options = ProviderOptions(
            base_url=f"http://127.0.0.1:{port}/v1", api_key_env=KEY_ENV, retry=ONE_ATTEMPT
        )
        provider = OpenAICompatProvider("m", options)
        try:
            await provider.complete(ChatRequest(id="q1", text="Which?", image=None))
        except ProviderError as error:
            return error
        finally:
            await provider.aclose()
            server.close()
        raise AssertionError("no error")

    return asyncio.run(main())


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nBearer " + KEY.encode() + b"\r\n\r\n",  # a malformed header line quoting it
        b"SSH-2.0 " + KEY.encode() + b"\r\n\r\n",  # not HTTP at all
        b'HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{"echo": "' + KEY.encode() + b'"',  # not JSON
    ],
)
def test_server_bytes_quoted_in_a_failure_never_carry_the_key(
    reply: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = _raw_server_run(reply, KEY, monkeypatch)
    assert KEY not in str(error) and KEY not in repr(error)


@pytest.mark.parametrize("key", ["sk-abc\r\nX-Injected: yes", "sk-über-key", "sk abc"])
def test_a_key_that_cannot_go_in_a_header_is_refused_at_construction_and_not_shown(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, key)
    with pytest.raises(ModelSpecError, match="printable ASCII") as raised:
        OpenAICompatProvider("m", ProviderOptions(base_url="http://127.0.0.1:9/v1", api_key_env=KEY_ENV))
    assert key not in str(raised.value)


def test_a_key_with_a_trailing_newline_is_sent_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx2.Request] = []
    _served(monkeypatch, httpx2.Response(200, json=_completion("B")), seen)
    monkeypatch.setenv(KEY_ENV, KEY + "\n")
    _ask(_options())
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
