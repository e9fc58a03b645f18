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
