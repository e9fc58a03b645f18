"""`spinebench eval --ray ... --model vllm:<model>`: vLLM engines on GPU workers through `ray.data.llm`.

The questions go through Ray Data's LLM processor (`vLLMEngineProcessorConfig` + `build_processor`): the
preprocess stage renders each question exactly as every backend does (the same prompt, the same as-sent JPEG
as a data URL in a multimodal message, the same sampling parameters), vLLM generates, and the postprocess
stage reads the reply through the runner's own `QuestionAnswerer`, so extraction, stages and the judge are
the same as a local run's. An image control (`--image-control`) acts in the preprocess stage, through the
runner's own `controlled_images`, so the engine sees the image a local run would send; paraphrases and
rotations are questions of their own, carried whole in each row.

What the processor gives back (checked against ray 2.60): `generated_text`, `num_input_tokens` and
`num_generated_tokens`, but neither vLLM's finish_reason nor a separate reasoning field. A reply that used all
of `max_tokens` is therefore recorded with finish_reason "length" (what vLLM would have said), and a
reasoning model's <think> block stays in the text, where extraction sets it apart.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from spinebench.benchmark import Benchmark, Question
from spinebench.cluster._ray import ClusterError, connect
from spinebench.models import ChatRequest, Completion
from spinebench.models.vllm_offline import vllm_request
from spinebench.prediction import Prediction
from spinebench.prompts import build_request
from spinebench.run import ControlledImages, EvalSettings, QuestionAnswerer, controlled_images

QUESTION_COLUMN: Final = "spinebench_question"


def completion_from_row(row: dict[str, Any], max_tokens: int) -> Completion:
    """What the vLLM stage produced for one row, as the Completion a local backend would return."""
    generated = row.get("num_generated_tokens")
    finish = "length" if isinstance(generated, int) and generated >= max_tokens else "stop"
    prompt_tokens = row.get("num_input_tokens")
    return Completion(
        text=str(row.get("generated_text") or ""),
        input_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
        output_tokens=generated if isinstance(generated, int) else None,
        finish_reason=finish,
    )


def preprocess_row(row: dict[str, Any], *, benchmark: str, settings: EvalSettings) -> dict[str, Any]:
    """A question row -> the messages and sampling parameters for the vLLM stage (the question rides on)."""
    question = _question(row[QUESTION_COLUMN])
    image = _images(benchmark, settings).read(question)  # the run's image control acts here
    request = build_request(question, image, settings.template(), settings.params)
    options = settings.provider_options
    prepared = vllm_request(request, options.image_max_side, options.image_quality)
    return {
        QUESTION_COLUMN: row[QUESTION_COLUMN],
        "messages": prepared.conversation,
        "sampling_params": prepared.sampling,
    }


def postprocess_row(row: dict[str, Any], *, benchmark: str, settings: EvalSettings) -> dict[str, Any]:
    """The generated reply -> one predictions.jsonl line, read exactly as the local runner reads it."""
    question = _question(row[QUESTION_COLUMN])
    completion = completion_from_row(row, settings.params.max_tokens)
    answerer = QuestionAnswerer(
        _open(benchmark), _Replay(completion), None, settings, images=_images(benchmark, settings)
    )
    prediction = asyncio.run(answerer.answer(question))
    return {"prediction": prediction.to_json()}


class RayVLLMExecutor:
    """Runs a `vllm:<model>` evaluation through Ray Data's vLLM engine processor (GPU workers)."""

    def __init__(
        self,
        benchmark: Benchmark,
        settings: EvalSettings,
        address: str = "auto",
        *,
        engines: int = 1,
        batch_size: int = 32,
    ) -> None:
        if settings.judge:
            raise ClusterError(
                "--judge is not available with vllm:<model> on Ray; serve the model with `vllm serve` and "
                "evaluate openai:<model> with --ray, where the judge runs on the workers"
            )
        self.benchmark = benchmark
        self.settings = settings
        self.address = address
        self.engines = engines
        self.batch_size = batch_size

    def describe(self) -> dict[str, Any]:
        options = self.settings.provider_options
        return {
            "provider": "vllm",
            "model": self.settings.model.partition(":")[2],
            "tensor_parallel_size": options.tensor_parallel_size,
            "cluster": {"engine": "ray.data.llm", "engines": self.engines, "batch_size": self.batch_size},
        }

    async def execute(self, todo: Iterator[Question], emit: Callable[[Prediction], None]) -> None:
        rows = [{QUESTION_COLUMN: question_record(question)} for question in todo]
        if rows:
            await asyncio.to_thread(self._stream, rows, emit)

    def _stream(self, rows: list[dict[str, Any]], emit: Callable[[Prediction], None]) -> None:
        ray = connect(self.address)
        from ray.data.llm import build_processor

        config = processor_config(self.settings, engines=self.engines, batch_size=self.batch_size)
        path = str(self.benchmark.path)
        processor = build_processor(
            config,
            preprocess=functools.partial(preprocess_row, benchmark=path, settings=self.settings),
            postprocess=functools.partial(postprocess_row, benchmark=path, settings=self.settings),
        )
        seen: set[str] = set()
        for row in processor(ray.data.from_items(rows)).iter_rows():
            prediction = Prediction.from_json(row["prediction"])
            if prediction.question_id not in seen:
                seen.add(prediction.question_id)
                emit(prediction)


def processor_config(settings: EvalSettings, *, engines: int, batch_size: int) -> Any:
    """The `vLLMEngineProcessorConfig` for a run: its model, precision and parallelism, one image a prompt."""
    from ray.data.llm import vLLMEngineProcessorConfig

    options = settings.provider_options
    engine: dict[str, Any] = {
        "tensor_parallel_size": options.tensor_parallel_size,
        "trust_remote_code": options.trust_remote_code,
        "limit_mm_per_prompt": {"image": 1},
    }
    if options.dtype != "auto":
        engine["dtype"] = options.dtype
    return vLLMEngineProcessorConfig(
        model_source=settings.model.partition(":")[2],
        engine_kwargs=engine,
        concurrency=engines,
        batch_size=batch_size,
        prepare_multimodal_stage=True,  # decodes the data-URL image of each message for the engine
    )


class _Replay:
    """A provider that returns the reply already generated, so the answerer reads it as any other."""

    spec = "vllm-replay"

    def __init__(self, completion: Completion) -> None:
        self._completion = completion

    def describe(self) -> dict[str, Any]:
        return {"provider": self.spec}

    async def complete(self, request: ChatRequest) -> Completion:
        return self._completion

    async def aclose(self) -> None:
        return None


def question_record(question: Question) -> dict[str, Any]:
    """A question as one row of the processor's dataset (plain values that Arrow can hold)."""
    return {name: getattr(question, name) for name in Question.__dataclass_fields__}


def _question(record: dict[str, Any]) -> Question:
    values = dict(record)
    for name in ("options", "answer", "subsets"):
        values[name] = tuple(values.get(name) or ())
    return Question(**values)


@functools.lru_cache(maxsize=4)
def _open(path: str) -> Benchmark:
    return Benchmark.open(Path(path), verify="quick")


@functools.lru_cache(maxsize=4)
def _images(path: str, settings: EvalSettings) -> ControlledImages:
    # Made once per worker process: the shuffled control reads every question of the benchmark.
    return controlled_images(_open(path), settings)
