"""An address where nothing answers: the connection attempt is bounded and counts as a lasting failure."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import openai
import pytest

from spinebench.models import (
    ChatRequest,
    CircuitOpenError,
    ProviderError,
    ProviderOptions,
    RetryPolicy,
    _keepalive,
    _openai_client,
)
from spinebench.models.openai_compat import CONNECT_TIMEOUT, OpenAICompatProvider


def _blackhole(monkeypatch: pytest.MonkeyPatch, seen: list[Any]) -> None:
    """Every connection attempt times out, as to a host that drops packets."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.extensions.get("timeout"))
        raise httpx2.ConnectTimeout("timed out", request=request)

    real = openai.AsyncOpenAI

    def client(**kwargs: Any) -> openai.AsyncOpenAI:
        # In place of the client's own transport (https URLs go through the official client).
        kwargs["http_client"] = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
        return real(**kwargs)

    monkeypatch.setattr(_openai_client.openai, "AsyncOpenAI", client)


def _unanswered_connects(monkeypatch: pytest.MonkeyPatch, seen: list[Any]) -> None:
    """Plain-http URLs are posted to directly: every connection attempt hangs, as to a host that drops
    packets."""

    async def never(host: str, port: int, **kwargs: Any) -> Any:
        seen.append((host, port))
        await asyncio.sleep(3600)

    monkeypatch.setattr(_keepalive.asyncio, "open_connection", never)


def _ask(provider: OpenAICompatProvider, n: int) -> list[BaseException]:
    async def many() -> list[BaseException]:
        requests = [ChatRequest(id=f"q{i}", text="Which?", image=None) for i in range(n)]
        try:
            results = await asyncio.gather(*(provider.complete(r) for r in requests), return_exceptions=True)
        finally:
            await provider.aclose()
        return [r for r in results if isinstance(r, BaseException)]

    return asyncio.run(many())


def test_a_connect_timeout_is_a_connection_failure_that_opens_the_breaker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []
    _blackhole(monkeypatch, seen)

    async def no_wait(seconds: float) -> None:
        return None

    options = ProviderOptions(base_url="https://10.0.0.1:8000/v1", retry=RetryPolicy(max_attempts=6))
    errors = _ask(OpenAICompatProvider("m", options, sleep=no_wait), 8)
    assert len(errors) == 8 and all(isinstance(e, ProviderError) for e in errors)
    assert any(isinstance(e, CircuitOpenError) for e in errors)
    assert "cannot connect to https://10.0.0.1:8000/v1 within 10 s" in str(errors[0])
    assert {timeout["connect"] for timeout in seen} == {CONNECT_TIMEOUT}
    assert len(seen) < 8 * 6  # the breaker stopped the retries


def test_a_plain_http_connect_timeout_is_bounded_and_opens_the_breaker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []
    _unanswered_connects(monkeypatch, seen)

    async def no_wait(seconds: float) -> None:
        return None

    # The connection wait is the smaller of the reply timeout and CONNECT_TIMEOUT: 0.2 s here.
    options = ProviderOptions(
        base_url="http://10.0.0.1:8000/v1", timeout=0.2, retry=RetryPolicy(max_attempts=6)
    )
    errors = _ask(OpenAICompatProvider("m", options, sleep=no_wait), 8)
    assert len(errors) == 8 and all(isinstance(e, ProviderError) for e in errors)
    assert any(isinstance(e, CircuitOpenError) for e in errors)
    assert "cannot connect to http://10.0.0.1:8000/v1 within 0.2 s" in str(errors[0])
    assert set(seen) == {("10.0.0.1", 8000)}
    assert len(seen) < 8 * 6  # the breaker stopped the retries
