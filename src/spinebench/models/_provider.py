"""The line between task and model: a provider only answers chat requests.

A provider never sees a Question, a benchmark or a score; it gets a `ChatRequest` (text, then one image) and
returns a `Completion`. Infrastructure failures are raised as `ProviderError` so the runner can record them
as errors, never as wrong answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

ErrorKind = Literal["timeout", "rate_limit", "server", "connection", "bad_response", "client"]


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling parameters, recorded in run.json. Greedy by default so that runs repeat."""

    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int | None = 0
    top_p: float | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One question as a chat: optional system text, then user text followed by one image (or none)."""

    id: str
    text: str
    image: bytes | None
    system: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)


@dataclass(frozen=True, slots=True)
class Completion:
    """A reply. `reasoning` is a reasoning model's thinking when the server returns it apart from the text
    (vLLM's `reasoning_content`); it is stored, never read for the answer."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    attempts: int = 1
    reasoning: str | None = None
    # sha256 of the image bytes the model was given (after any re-encoding): what it saw, checkable later.
    image_sha256: str | None = None


class ProviderError(Exception):
    """A request that failed for infrastructure reasons (after any retries).

    `retryable` says whether trying again later could help (timeouts, 429, 5xx, broken responses); a run
    records such failures as errors and retries them on resume.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        attempts: int = 1,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = attempts
        self.status = status  # the HTTP status, when a server answered with one


@runtime_checkable
class Provider(Protocol):
    """Anything that answers chat requests. Adding a backend is adding one class that satisfies this."""

    @property
    def spec(self) -> str:
        """The model spec the provider was made from, e.g. `openai:qwen2.5-vl-7b`."""
        ...

    def describe(self) -> dict[str, Any]:
        """Parameters that decide the answers (recorded in run.json; never secrets)."""
        ...

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...
