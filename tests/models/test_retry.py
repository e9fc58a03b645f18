from __future__ import annotations

import asyncio
import random

import pytest

from spinebench.models import ProviderError, RetryPolicy, call_with_retries


def test_retries_honour_retry_after_then_succeed() -> None:
    waits: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ProviderError("rate_limit", "429", retry_after=7.0)
        return "ok"

    result, attempts = asyncio.run(call_with_retries(flaky, RetryPolicy(base_delay=0.1), sleep=sleep))
    assert (result, attempts) == ("ok", 3)
    assert waits == [7.0, 7.0]


def test_backoff_grows_with_jitter_and_gives_up() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=3.0)
    rng = random.Random(1)
    delays = [policy.delay(attempt, None, rng) for attempt in (1, 2, 3, 4, 5)]
    assert all(0 <= d <= min(3.0, 2 ** (i)) for i, d in enumerate(delays))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def down() -> str:
        raise ProviderError("server", "500")

    with pytest.raises(ProviderError) as caught:
        asyncio.run(call_with_retries(down, policy, sleep=sleep))
    assert caught.value.attempts == 4 and len(waits) == 3


def test_non_retryable_error_is_raised_at_once() -> None:
    async def bad() -> str:
        raise ProviderError("client", "400 bad request", retryable=False)

    with pytest.raises(ProviderError, match="400") as caught:
        asyncio.run(call_with_retries(bad, RetryPolicy()))
    assert caught.value.attempts == 1
