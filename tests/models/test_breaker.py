"""The circuit breaker: the first requests all failing the same lasting way stop the run; transient don't."""

from __future__ import annotations

import asyncio

import pytest

from spinebench.models import (
    CircuitBreaker,
    CircuitOpenError,
    ProviderError,
    RetryPolicy,
    call_with_retries,
)


async def _no_wait(seconds: float) -> None:
    return None


def _run(error: ProviderError | None, breaker: CircuitBreaker, attempts: int = 3) -> str:
    async def once() -> str:
        if error is not None:
            raise error
        return "ok"

    policy = RetryPolicy(max_attempts=attempts)
    result, _ = asyncio.run(
        call_with_retries(once, policy, sleep=_no_wait, breaker=breaker, advice=lambda e: "fix it")
    )
    return result


@pytest.mark.parametrize(
    "error",
    [
        ProviderError("connection", "refused"),
        ProviderError("client", "HTTP 401", retryable=False, status=401),
        ProviderError("client", "HTTP 404", retryable=False, status=404),
    ],
)
def test_the_same_lasting_failure_opens_the_breaker(error: ProviderError) -> None:
    breaker = CircuitBreaker(threshold=4)
    raised: list[BaseException] = []
    for _ in range(4):
        try:
            _run(error, breaker, attempts=1)
        except ProviderError as caught:
            raised.append(caught)
    assert isinstance(raised[-1], CircuitOpenError) and raised[-1].advice == "fix it"
    assert not any(isinstance(e, CircuitOpenError) for e in raised[:-1])
    with pytest.raises(CircuitOpenError, match=error.message):
        _run(None, breaker)  # once open, nothing more is sent


@pytest.mark.parametrize(
    "error",
    [
        ProviderError("server", "HTTP 503", status=503),
        ProviderError("rate_limit", "HTTP 429", status=429),
        ProviderError("timeout", "no reply"),
        ProviderError("client", "HTTP 400", retryable=False, status=400),
    ],
)
def test_transient_or_per_request_failures_never_open_it(error: ProviderError) -> None:
    breaker = CircuitBreaker(threshold=2)
    for _ in range(10):
        with pytest.raises(ProviderError) as caught:
            _run(error, breaker)
        assert not isinstance(caught.value, CircuitOpenError)


def test_after_a_success_the_breaker_stays_closed() -> None:
    breaker = CircuitBreaker(threshold=2)
    assert _run(None, breaker) == "ok"
    for _ in range(5):
        with pytest.raises(ProviderError) as caught:
            _run(ProviderError("connection", "refused"), breaker, attempts=1)
        assert not isinstance(caught.value, CircuitOpenError)
