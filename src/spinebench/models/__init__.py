"""Models answer chat requests; they know nothing of questions or scores (see `_provider`)."""

from spinebench.models._breaker import CircuitBreaker, CircuitOpenError
from spinebench.models._provider import (
    ChatRequest,
    Completion,
    ErrorKind,
    GenerationParams,
    Provider,
    ProviderError,
)
from spinebench.models._retry import RetryPolicy, call_with_retries
from spinebench.models._spec import SPEC_HELP, ProviderOptions, make_provider

__all__ = [
    "SPEC_HELP",
    "ChatRequest",
    "CircuitBreaker",
    "CircuitOpenError",
    "Completion",
    "ErrorKind",
    "GenerationParams",
    "Provider",
    "ProviderError",
    "ProviderOptions",
    "RetryPolicy",
    "call_with_retries",
    "make_provider",
]
