"""`spinebench eval --ray`: the questions sharded across a Ray cluster, the driver the only writer.

Ray Data reads benchmark.parquet in blocks; a pool of actors (`_AnswerBatch`), each holding its own
provider, answers every block's questions with the runner's own `QuestionAnswerer`, and returns one
predictions.jsonl line per question. The driver streams those lines back and appends them through the runner,
so a Ray run writes the same run directory as a local one: append-only, resumable, the same records.

A worker that dies mid-block is restarted and its block asked again (Ray's task retries); the driver keeps
the first prediction of each question it receives, so a retried block never duplicates one.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from spinebench.baselines import Baseline
from spinebench.benchmark import Benchmark, Question, questions_from_batch
from spinebench.cluster._ray import ClusterError, connect
from spinebench.models import Provider, ProviderOptions, make_provider
from spinebench.prediction import Prediction
from spinebench.run import EvalSettings, Judge, QuestionAnswerer, make_answerer, variants

PREDICTION_COLUMN: Final = "prediction"
_ROWS_PER_BLOCK: Final = 64


class RayEvalExecutor:
    """Answers a run's remaining questions on a Ray cluster (see the module docstring).

    The benchmark folder must be readable at the same path on every node (a shared filesystem, or the same
    copy mounted everywhere); API keys come from each node's own environment, never through Ray.
    """

    def __init__(
        self,
        benchmark: Benchmark,
        settings: EvalSettings,
        address: str = "local",
        *,
        actors: int | None = None,
        batch_size: int = 16,
    ) -> None:
        if settings.model.startswith("vllm:"):
            raise ClusterError(
                "for vllm:<model> on Ray use the vLLM engine processor (spinebench.cluster.RayVLLMExecutor)"
            )
        self.benchmark = benchmark
        self.settings = settings
        self.address = address
        self.actors = actors
        self.batch_size = batch_size
        self._described: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        if self._described is None:
            ray = connect(self.address)
            remote = ray.remote(num_cpus=0)(_describe_answerer)
            described = ray.get(remote.remote(str(self.benchmark.path), self.settings))
            self._described = {**described, "cluster": {"engine": "ray", "actors": self._pool_size()}}
        return self._described

    async def execute(self, todo: Iterator[Question], emit: Callable[[Prediction], None]) -> None:
        wanted = frozenset(question.id for question in todo)
        if wanted:
            await asyncio.to_thread(self._stream, wanted, emit)

    def _pool_size(self) -> int:
        if self.actors is not None:
            return max(1, self.actors)
        ray = connect(self.address)
        return max(1, int(ray.cluster_resources().get("CPU", 1)) // 2)

    def _stream(self, wanted: frozenset[str], emit: Callable[[Prediction], None]) -> None:
        ray = connect(self.address)
        dataset = ray.data.read_parquet(str(self.benchmark.path / "benchmark.parquet"))
        blocks = max(self._pool_size() * 2, len(self.benchmark) // _ROWS_PER_BLOCK)
        answered = dataset.repartition(blocks).map_batches(
            _AnswerBatch,
            # The ids go through the object store once, by reference: a restarted actor fetches them again.
            fn_constructor_kwargs={
                "benchmark": str(self.benchmark.path),
                "settings": self.settings,
                "wanted": [ray.put(wanted)],
            },
            batch_size=self.batch_size,
            batch_format="pyarrow",
            concurrency=self._pool_size(),
            num_cpus=1,
            max_restarts=-1,  # a killed worker comes back ...
            max_task_retries=-1,  # ... and its block is asked again
        )
        seen: set[str] = set()
        for batch in answered.iter_batches(batch_size=None, batch_format="pyarrow"):
            for line in batch.column(PREDICTION_COLUMN).to_pylist():
                prediction = Prediction.from_json(line)
                if prediction.question_id in wanted and prediction.question_id not in seen:
                    seen.add(prediction.question_id)
                    emit(prediction)


def _answerer_for(benchmark: Benchmark, settings: EvalSettings, scratch: Path) -> QuestionAnswerer:
    provider: Provider | Baseline = make_answerer(settings)
    if isinstance(provider, Baseline):
        provider.fit(benchmark, benchmark.iter_questions(settings.subset))
    judge = None
    if settings.judge:
        options: ProviderOptions = settings.judge_provider_options()
        # The judge's cache stays on the worker: only the driver writes into the run directory (each
        # reading is in the prediction it belongs to all the same).
        judge = Judge(make_provider(settings.judge, options), scratch)
    return QuestionAnswerer(benchmark, provider, judge, settings)


def _describe_answerer(benchmark: str, settings: EvalSettings) -> dict[str, Any]:
    opened = Benchmark.open(Path(benchmark), verify="quick")
    provider = make_answerer(settings)
    if isinstance(provider, Baseline):
        provider.fit(opened, opened.iter_questions(settings.subset))
    return provider.describe()


class _AnswerBatch:
    """A Ray Data actor: one provider for its lifetime, one event loop answering each block concurrently."""

    def __init__(self, benchmark: str, settings: EvalSettings, wanted: list[Any]) -> None:
        import ray

        self._benchmark = Benchmark.open(Path(benchmark), verify="quick")
        self._settings = settings
        self._wanted: frozenset[str] = ray.get(wanted[0])
        self._scratch = Path(tempfile.mkdtemp(prefix="spinebench-worker-"))
        self._answerer = _answerer_for(self._benchmark, settings, self._scratch)
        self._loop = asyncio.new_event_loop()

    def __call__(self, batch: pa.Table) -> dict[str, list[str]]:
        subset = self._settings.subset
        asked = [
            variant
            for question in questions_from_batch(batch)
            if subset is None or subset in question.subsets
            for variant in variants(question, self._settings)
            if variant.id in self._wanted
        ]
        predictions = self._loop.run_until_complete(self._answer(asked))
        return {PREDICTION_COLUMN: [prediction.to_json() for prediction in predictions]}

    async def _answer(self, questions: list[Question]) -> list[Prediction]:
        limit = asyncio.Semaphore(max(1, self._settings.concurrency))

        async def one(question: Question) -> Prediction:
            async with limit:
                return await self._answerer.answer(question)

        return list(await asyncio.gather(*(one(question) for question in questions)))
