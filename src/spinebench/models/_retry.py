"""Retries with exponential backoff and full jitter, honouring a server's Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from spinebench.models._breaker import CircuitBreaker
from spinebench.models._provider import ProviderError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        backoff = rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
        if retry_after is not None:
            # The server knows best when it will take us back; never wait less than it asked.
            return max(min(retry_after, self.max_delay), backoff)
        return backoff


async def call_with_retries(
    attempt_once: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
    breaker: CircuitBreaker | None = None,
    advice: Callable[[ProviderError], str] = lambda error: "",
) -> tuple[T, int]:
    """Runs `attempt_once` until it succeeds; returns its result and the number of attempts.

    Retryable ProviderErrors are retried up to `policy.max_attempts`; the last one is re-raised with its
    attempt count. Non-retryable errors are raised at once. With a `breaker` shared by all requests, every
    attempt is recorded in it, and once it opens (see `CircuitBreaker`) a CircuitOpenError is raised instead
    of trying again; `advice` says how to fix a failure that opens it.
    """
    rng = rng or random.Random()
    attempt = 1
    while True:
        if breaker is not None:
            breaker.check()
        try:
            result = await attempt_once()
        except ProviderError as error:
            error.attempts = attempt
            if breaker is not None:
                breaker.record_failure(error, advice(error))
                breaker.check()
            if not error.retryable or attempt >= policy.max_attempts:
                raise
            await sleep(policy.delay(attempt, error.retry_after, rng))
            attempt += 1
            continue
        if breaker is not None:
            breaker.record_success()
        return result, attempt
