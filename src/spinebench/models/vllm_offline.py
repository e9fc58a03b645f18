"""Models run in-process by vLLM (`vllm:<path-or-hub-id>`): one `vllm.LLM`, batches through `LLM.chat`.

The conversation is the OpenAI-style one every backend sends (`chat_messages`), carrying the image as the same
JPEG data URL an OpenAI-compatible server gets, so offline and served vLLM see identical input. Each request
brings its own SamplingParams, seed included, so sampled answers do not depend on how requests were batched.
vllm is imported when the engine is first needed; the request building (`vllm_request`, `engine_kwargs`)
needs no vllm and is tested without it.
"""

from __future__ import annotations

import base64
import importlib
import threading
from dataclasses import dataclass
from typing import Any

from spinebench.errors import ModelSpecError, SpineBenchError
from spinebench.models._local import DTYPES, MicroBatcher, local_model_source, package_version, require_extra
from spinebench.models._messages import chat_messages, image_as_sent
from spinebench.models._provider import ChatRequest, Completion, GenerationParams, ProviderError
from spinebench.models._spec import ProviderOptions

SAMPLING_NOTE = (
    "SamplingParams(temperature, top_p, max_tokens, seed) from the run's params, one per request; "
    "fields not set take vLLM's defaults"
)


@dataclass(frozen=True, slots=True)
class VLLMRequest:
    """One request as `LLM.chat` takes it: the conversation, and its SamplingParams keyword arguments."""

    conversation: list[dict[str, Any]]
    sampling: dict[str, Any]


def sampling_kwargs(params: GenerationParams) -> dict[str, Any]:
    """SamplingParams keywords; temperature 0 is greedy in vLLM, as in the OpenAI API."""
    kwargs: dict[str, Any] = {"temperature": params.temperature, "max_tokens": params.max_tokens}
    if params.top_p is not None:
        kwargs["top_p"] = params.top_p
    if params.seed is not None:
        kwargs["seed"] = params.seed
    return kwargs


def vllm_request(request: ChatRequest, max_side: int, quality: int) -> VLLMRequest:
    """The conversation and sampling keywords for a request. Unreadable image: a ProviderError."""
    url: str | None = None
    if request.image is not None:
        try:
            jpeg = image_as_sent(request.image, max_side, quality)
        except OSError as error:  # PIL's UnidentifiedImageError and truncated files
            raise ProviderError(
                "client", f"image of {request.id} cannot be read: {error}", retryable=False
            ) from error
        url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    return VLLMRequest(chat_messages(request, url), sampling_kwargs(request.params))


def engine_kwargs(source: str, options: ProviderOptions) -> dict[str, Any]:
    """Keyword arguments of `vllm.LLM` (recorded in run.json through `describe`)."""
    return {
        "model": source,
        "tensor_parallel_size": options.tensor_parallel_size,
        "dtype": options.dtype,
        "seed": options.seed,
        "trust_remote_code": options.trust_remote_code,
        "limit_mm_per_prompt": {"image": 1},  # one image a question; vLLM reserves memory for this many
    }


class VLLMProvider:
    """A `vllm.LLM` engine made on first use (or `load()`), answering batches of concurrent requests.

    vLLM batches continuously inside a call, so larger batches (`batch_size` 64 or more, with a larger
    `--concurrency`) use the GPU better than the default of 8.
    """

    def __init__(self, model: str, options: ProviderOptions | None = None) -> None:
        self.model = model
        self.options = options or ProviderOptions()
        require_extra("vllm", ("vllm",), "vllm")
        if self.options.dtype not in DTYPES:
            raise ModelSpecError(f"vllm: dtype {self.options.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.options.tensor_parallel_size < 1:
            raise ModelSpecError(
                f"vllm: tensor_parallel_size must be at least 1, not {self.options.tensor_parallel_size}"
            )
        self.source = local_model_source("vllm", model)
        self._llm: Any = None
        self._sampling_params: Any = None
        self._load_error: SpineBenchError | None = None
        self._load_lock = threading.Lock()
        self._batcher = MicroBatcher(self._run_batch, self.options.batch_size, self._failure)

    @property
    def spec(self) -> str:
        return f"vllm:{self.model}"

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def describe(self) -> dict[str, Any]:
        engine = engine_kwargs(self.source, self.options)
        return {
            "provider": "vllm",
            "model": self.model,
            "source": self.source,
            "engine": {key: value for key, value in engine.items() if key != "model"},
            "sampling": SAMPLING_NOTE,
            "batch_size": self._batcher.batch_size,
            "image_max_side": self.options.image_max_side,
            "image_quality": self.options.image_quality,
            "vllm": package_version("vllm"),
        }

    def load(self) -> None:
        """Starts the engine now (otherwise the first request does). Idempotent.

        Call it from the main thread: vLLM sets up signal handlers and worker processes as it starts.
        """
        with self._load_lock:
            if self._llm is not None:
                return
            if self._load_error is not None:
                raise self._load_error
            try:
                self._llm, self._sampling_params = self._start()
            except SpineBenchError as error:
                self._load_error = error
                raise

    async def complete(self, request: ChatRequest) -> Completion:
        # Started on the event loop's thread (the main one under asyncio.run): blocking it meanwhile costs
        # nothing, since no request can be answered before the engine is up.
        self.load()
        return await self._batcher.submit(request)

    async def aclose(self) -> None:
        await self._batcher.aclose()
        self._llm = None  # the engine shuts down when collected

    def _start(self) -> tuple[Any, Any]:
        try:
            vllm = importlib.import_module("vllm")
        except ImportError as error:
            raise ModelSpecError(
                f"vllm: cannot import vllm ({error}): pip install 'spinebench[vllm]'"
            ) from error
        try:
            llm = vllm.LLM(**engine_kwargs(self.source, self.options))
        except Exception as error:
            raise ModelSpecError(
                f"vllm: cannot start an engine for {self.source}: {type(error).__name__}: {error}"
            ) from error
        return llm, vllm.SamplingParams

    def _failure(self, error: Exception) -> ProviderError:
        text = " ".join(str(error).split())[:300]
        return ProviderError(
            "server", f"vllm: generation failed: {type(error).__name__}: {text}", retryable=False
        )

    def _run_batch(self, requests: list[ChatRequest]) -> list[Completion | ProviderError]:
        results: list[Completion | ProviderError | None] = [None] * len(requests)
        ready: list[tuple[int, VLLMRequest]] = []
        for index, request in enumerate(requests):
            try:
                ready.append(
                    (index, vllm_request(request, self.options.image_max_side, self.options.image_quality))
                )
            except ProviderError as error:
                results[index] = error
        if ready:
            outputs = self._llm.chat(
                [built.conversation for _, built in ready],
                sampling_params=[self._sampling_params(**built.sampling) for _, built in ready],
                use_tqdm=False,
            )
            for (index, _), output in zip(ready, outputs, strict=True):
                results[index] = _completion(output)
        return [result for result in results if result is not None]


def _completion(output: Any) -> Completion:
    """A Completion from one vLLM RequestOutput (its first and only sample)."""
    sample = output.outputs[0]
    prompt_ids = getattr(output, "prompt_token_ids", None)
    return Completion(
        text=sample.text,
        input_tokens=len(prompt_ids) if prompt_ids is not None else None,
        output_tokens=len(sample.token_ids),
        finish_reason=sample.finish_reason,
    )
