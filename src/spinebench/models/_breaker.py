"""A circuit breaker: when the first requests of a run all fail the same lasting way, stop asking.

A dead server, a wrong key or a mistyped model name fails every question alike. Retrying each question with
backoff would take hours on 64,878 questions (and send every one to a server that refuses them), so once
`threshold` attempts have failed with one such cause before any request succeeded, every later attempt
fails at once with `CircuitOpenError`, which the runner turns into one message with the cause and the fix.
Transient failures (429, 5xx, timeouts, broken replies) never open it: they keep their retries. After the
first success the breaker stays closed for good: a server that worked and then hiccups is retried as usual.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from spinebench.models._provider import ProviderError

DEFAULT_THRESHOLD = 8
# HTTP statuses that no retry will change: no or a wrong key, no permission, no such model or path.
LASTING_STATUSES = frozenset({401, 403, 404})


class CircuitOpenError(ProviderError):
    """Raised for every attempt once the breaker is open; `cause` is the failure that opened it."""

    def __init__(self, cause: ProviderError, advice: str) -> None:
        super().__init__(cause.kind, cause.message, retryable=False, status=cause.status)
        self.cause = cause
        self.advice = advice


def lasting_cause(error: ProviderError) -> str | None:
    """What a failure says about every request to come, or None for a failure that may pass."""
    if error.kind == "connection":
        return "connection"
    if error.kind == "client" and error.status in LASTING_STATUSES:
        return f"HTTP {error.status}"
    return None


@dataclass
class CircuitBreaker:
    threshold: int = DEFAULT_THRESHOLD
    _causes: Counter[str] = field(default_factory=Counter)
    _succeeded: bool = False
    _open: tuple[ProviderError, str] | None = None

    def record_success(self) -> None:
        self._succeeded = True

    def record_failure(self, error: ProviderError, advice: str) -> None:
        cause = lasting_cause(error)
        if self._succeeded or self._open is not None or cause is None:
            return
        self._causes[cause] += 1
        if self._causes[cause] >= self.threshold:
            self._open = (error, advice)

    def check(self) -> None:
        """Raises the CircuitOpenError once the breaker is open."""
        if self._open is not None:
            raise CircuitOpenError(*self._open)
