"""Runs a model over a benchmark: bounded concurrency, resume, infrastructure errors kept apart.

Questions stream from the benchmark; a bounded queue keeps memory flat however large it is. Each answer is
appended to predictions.jsonl the moment it arrives. Re-running the same settings into the same directory
resumes: questions with an answer are skipped; those whose last attempt failed are asked again
(unless `rerun_errors` is off).
"""

from __future__ import annotations

import asyncio
import dataclasses
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final, Protocol, cast

from spinebench import __version__
from spinebench.baselines import (
    BASELINE_HELP,
    Baseline,
    BaselineOptions,
    is_baseline_spec,
    make_baseline,
)
from spinebench.benchmark import Benchmark, Question
from spinebench.errors import RunDirectoryError, RunStoppedError, SpineBenchError
from spinebench.extract import Extraction, extract_answer, split_reasoning
from spinebench.metrics import max_paraphrases, paraphrase_scores, paraphrases, rotations, score_run
from spinebench.models import (
    SPEC_HELP,
    CircuitOpenError,
    Completion,
    GenerationParams,
    Provider,
    ProviderError,
    ProviderOptions,
    make_provider,
)
from spinebench.prediction import Prediction
from spinebench.prompts import TEMPLATES, PromptTemplate, answer_line, build_request
from spinebench.run._directory import RunDirectory, utc_now
from spinebench.run._image_control import IMAGE_CONTROL_VERSION, ControlledImages, ImageControl
from spinebench.run._judge import Judge
from spinebench.run._progress import Reporter, SilentReporter

MODEL_HELP = f"{SPEC_HELP} | {BASELINE_HELP}"
# Stages the judge reads when one is configured: no letter from the rules (`refused` stays only when the
# judge finds none either), or a reply cut off by the token limit.
_JUDGED: Final = frozenset({"unparsed", "refused", "truncated"})
_RECORDED_PACKAGES = ("numpy", "pillow", "pyarrow", "pydicom", "openai", "torch", "transformers", "vllm")


@dataclass(frozen=True, slots=True)
class EvalSettings:
    """What decides the answers (the run's identity) and how the run is carried out."""

    model: str
    prompt: str = "paper"
    params: GenerationParams = field(default_factory=GenerationParams)
    subset: str | None = None
    judge: str | None = None
    seed: int = 0
    concurrency: int = 8
    rerun_errors: bool = True
    circular: bool = False
    # Asks every question with its image changed (run/_image_control.py): a control run of its own.
    image_control: ImageControl | None = None
    # Asks every question in this many wordings of the question pool (1: its own wording only).
    paraphrases: int = 1
    provider_options: ProviderOptions = field(default_factory=ProviderOptions)
    # knn's encoder, device and batch size; the seed is `seed` above.
    baseline_options: BaselineOptions = field(default_factory=BaselineOptions)
    overwrite: bool = False  # discard the answers of another configuration in the run directory
    # Where the --judge is asked (its base URL, key variable); None: as the model, `provider_options`.
    judge_options: ProviderOptions | None = None

    def template(self) -> PromptTemplate:
        return TEMPLATES[self.prompt]

    def judge_provider_options(self) -> ProviderOptions:
        """The options the judge is made with; the seed is the run's, as the model's is."""
        return dataclasses.replace(self.judge_options or self.provider_options, seed=self.seed)


class Executor(Protocol):
    """Answers the questions somewhere other than this process (e.g. across a Ray cluster).

    It builds its own answerers from the run's settings where it runs them, and hands every prediction back
    through `emit`, which appends it to the run directory: the driver stays the only writer.
    """

    def describe(self) -> dict[str, Any]:
        """What answers (the provider's description), for run.json."""
        ...

    async def execute(self, todo: Iterator[Question], emit: Callable[[Prediction], None]) -> None: ...


@dataclass(frozen=True, slots=True)
class EvalResult:
    run_dir: Path
    scores: dict[str, Any]
    answered_now: int
    errors_now: int


def evaluate(
    benchmark: Benchmark,
    out: Path,
    settings: EvalSettings,
    *,
    provider: Provider | Baseline | None = None,
    judge: Provider | None = None,
    reporter: Reporter | None = None,
    executor: Executor | None = None,
) -> EvalResult:
    """Answers every remaining question and writes predictions.jsonl, run.json and scores.json.

    `provider` replaces the one `settings.model` names (a model backend or a built-in baseline);
    `executor` answers elsewhere instead (then no provider is made here)."""
    return asyncio.run(
        _evaluate(benchmark, out, settings, provider, judge, reporter or SilentReporter(), executor)
    )


def run_identity(benchmark: Benchmark, settings: EvalSettings) -> dict[str, Any]:
    template = settings.template()
    return {
        "model": settings.model,
        "params": asdict(settings.params),
        "prompt": {"name": template.name, "version": template.version, "sha256": template.sha256},
        "benchmark": {"name": benchmark.name, "manifest_sha256": benchmark.manifest_sha256},
        "subset": settings.subset,
        "judge": settings.judge,
        "seed": settings.seed,
        "circular": settings.circular,
        # Absent from runs made before controls and paraphrases existed, which read as None: still resumable.
        "image_control": settings.image_control,
        "image_control_version": IMAGE_CONTROL_VERSION if settings.image_control else None,
        "paraphrases": settings.paraphrases if settings.paraphrases > 1 else None,
        # Local backends answer differently in another precision; a run must not mix them.
        "dtype": settings.provider_options.dtype,
    }


def _environment() -> dict[str, Any]:
    packages: dict[str, str | None] = {}
    for name in _RECORDED_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages}


async def _evaluate(
    benchmark: Benchmark,
    out: Path,
    settings: EvalSettings,
    provider: Provider | Baseline | None,
    judge: Provider | None,
    reporter: Reporter,
    executor: Executor | None = None,
) -> EvalResult:
    _check_out(out, benchmark)
    # A mistyped --subset fails here, before a run directory exists to block the corrected command.
    next(benchmark.iter_questions(settings.subset), None)
    if executor is None:
        provider = provider or make_answerer(settings)
        if judge is None and settings.judge:
            judge = make_provider(settings.judge, settings.judge_provider_options())
    _check_paraphrases(benchmark, settings)
    # Prepared first: a shuffle that cannot be made stops the run before its directory exists.
    images = controlled_images(benchmark, settings)
    identity = run_identity(benchmark, settings)
    run_dir = RunDirectory.prepare(out, identity, overwrite=settings.overwrite)
    if isinstance(provider, Baseline):
        try:  # constant:<answer> checks its answer against the benchmark's here
            provider.fit(benchmark, benchmark.iter_questions(settings.subset))
        except BaseException:
            run_dir.close()
            raise
    previous = run_dir.read_run_json() or {}
    record: dict[str, Any] = {
        "spinebench_version": __version__,
        "created": previous.get("created", utc_now()),
        "updated": utc_now(),
        "status": "running",
        "identity": identity,
        "provider": executor.describe() if executor else _describe(provider),
        "image_control": images.describe(),
        "judge_provider": judge.describe() if judge else None,
        "settings": {"concurrency": settings.concurrency, "rerun_errors": settings.rerun_errors},
        "benchmark_path": str(benchmark.path),
        "environment": _environment(),
    }
    run_dir.write_run_json(record)

    done = run_dir.load_predictions(with_text=False)
    total = sum(len(variants(q, settings)) for q in benchmark.iter_questions(settings.subset))
    settled = sum(1 for p in done.values() if not (p.failed and settings.rerun_errors))
    reporter.start(total, settled)
    counts = {"answered": 0, "errors": 0}

    def emit(prediction: Prediction) -> None:
        run_dir.append(prediction)
        counts["errors" if prediction.failed else "answered"] += 1
        reporter.advance(prediction)

    try:
        if executor is not None:
            await executor.execute(_todo(benchmark, settings, done), emit)
        else:
            assert provider is not None
            judged = Judge(judge, out) if judge else None
            answerer = QuestionAnswerer(benchmark, provider, judged, settings, images=images)
            await _run_all(_todo(benchmark, settings, done), answerer, emit, settings.concurrency)
    finally:
        # Scores are written even when the run stops early (Ctrl-C, a bad image): they say "incomplete".
        reporter.stop()
        run_dir.close()
        # Circular as configured, not guessed from the ids: a run stopped before any rotation was answered
        # must still count the rotations as pending.
        scores = score_run(
            benchmark.iter_questions(settings.subset),
            run_dir.load_predictions(with_text=False),
            circular=settings.circular or None,
        )
        if settings.paraphrases > 1:
            scores["paraphrase"] = paraphrase_scores(
                benchmark.iter_questions(settings.subset),
                run_dir.load_predictions(with_text=False),
                settings.paraphrases,
            )
            if any(t["questions_complete"] < t["questions"] for t in scores["paraphrase"].values()):
                scores["status"] = "incomplete"
        run_dir.write_scores(scores)
        record |= {"updated": utc_now(), "status": scores["status"]}
        run_dir.write_run_json(record)
        if provider is not None and not isinstance(provider, Baseline):
            await provider.aclose()
        if judge is not None:
            await judge.aclose()
    return EvalResult(run_dir.path, scores, counts["answered"], counts["errors"])


def make_answerer(settings: EvalSettings) -> Provider | Baseline:
    """What `settings.model` names: a built-in baseline, or a model backend."""
    if is_baseline_spec(settings.model):
        # The seed run.json records is the one the random baseline draws with.
        return make_baseline(
            settings.model, dataclasses.replace(settings.baseline_options, seed=settings.seed)
        )
    return make_provider(settings.model, _provider_options(settings))


def _provider_options(settings: EvalSettings) -> ProviderOptions:
    # The seed run.json records is the one the model is sent (and vLLM's engine draws with).
    return dataclasses.replace(settings.provider_options, seed=settings.seed)


def _check_out(out: Path, benchmark: Benchmark) -> None:
    if out.resolve().is_relative_to(benchmark.path.resolve()):
        raise RunDirectoryError(
            f"{out}: the run directory would be inside the benchmark folder {benchmark.path}, which is "
            "shared and hashed; choose an --out outside it (e.g. runs/<model>)"
        )


def controlled_images(benchmark: Benchmark, settings: EvalSettings) -> ControlledImages:
    """Where the answerer takes each question's image from: the benchmark, through the run's image control."""
    # The shuffle is made over the whole benchmark, not the run's subset: what an image shows is known from
    # every question on it, and a question gets the same donor in a subset run as in a full one.
    questions = benchmark.iter_questions() if settings.image_control == "shuffled" else ()
    return ControlledImages(benchmark, settings.image_control, settings.seed, questions)


class EvalSettingsError(SpineBenchError):
    """The settings cannot be applied to this benchmark (e.g. more paraphrases than the pool holds)."""


def _check_paraphrases(benchmark: Benchmark, settings: EvalSettings) -> None:
    if settings.paraphrases < 1:
        raise EvalSettingsError(f"--paraphrases must be at least 1, not {settings.paraphrases}")
    if settings.paraphrases == 1:
        return
    for question in benchmark.iter_questions(settings.subset):
        if max_paraphrases(question) < settings.paraphrases:
            raise EvalSettingsError(
                f"question {question.id}: --paraphrases {settings.paraphrases} asks for more wordings than "
                f"the question pool holds for it ({max_paraphrases(question)})"
            )


def variants(question: Question, settings: EvalSettings) -> list[Question]:
    """What is asked for a question: itself, with --circular every rotation of a single-answer question
    (diagnosis and severity grading), and with --paraphrases K its other K-1 wordings (in its own option
    order)."""
    asked = rotations(question) if settings.circular and not question.multiple else [question]
    if settings.paraphrases > 1:
        asked.extend(paraphrases(question, settings.paraphrases)[1:])
    return asked


def _todo(benchmark: Benchmark, settings: EvalSettings, done: Mapping[str, Prediction]) -> Iterator[Question]:
    for question in benchmark.iter_questions(settings.subset):
        for variant in variants(question, settings):
            previous = done.get(variant.id)
            if previous is None or (previous.failed and settings.rerun_errors):
                yield variant


def _describe(provider: Provider | Baseline | None) -> dict[str, Any]:
    return provider.describe() if provider is not None else {}


async def _run_all(
    todo: Iterator[Question],
    answerer: QuestionAnswerer,
    emit: Callable[[Prediction], None],
    concurrency: int,
) -> None:
    # At least one worker, and as many stop marks as workers: with 0 the queue would be unbounded and the
    # one worker would wait for a stop mark forever.
    workers = max(1, concurrency)
    queue: asyncio.Queue[Question | None] = asyncio.Queue(maxsize=2 * workers)

    async def produce() -> None:
        for question in todo:
            await queue.put(question)
        for _ in range(workers):
            await queue.put(None)

    async def work() -> None:
        while (question := await queue.get()) is not None:
            emit(await answerer.answer(question))

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(workers):
                group.create_task(work())
    except BaseExceptionGroup as group:
        # One failure (a missing or altered image) stops the run; report it, not the group around it.
        first = group.exceptions[0]
        if isinstance(first, CircuitOpenError):
            raise RunStoppedError(
                f"run stopped: the first requests all failed the same way ({first.message}); "
                f"{first.advice}. Nothing was scored; the same command resumes once this is fixed"
            ) from None
        raise first from None


class QuestionAnswerer:
    """Turns one question into one prediction: request, reply, extraction, the judge when needed.

    The same class answers in the local runner and on cluster workers, so records match wherever they run.
    """

    def __init__(
        self,
        benchmark: Benchmark,
        provider: Provider | Baseline,
        judge: Judge | None,
        settings: EvalSettings,
        *,
        images: ControlledImages | None = None,
    ) -> None:
        # The image control of the settings; a worker builds the same one (the shuffle is seeded), the local
        # runner passes the one it already made.
        self._images = images or controlled_images(benchmark, settings)
        # Decided once: an isinstance check against a runtime Protocol costs ~0.1 ms, per question here.
        self._baseline = provider if isinstance(provider, Baseline) else None
        self._model: Provider | None = None if self._baseline is not None else cast(Provider, provider)
        self._judge = judge
        self._template = settings.template()
        self._params = settings.params

    async def answer(self, question: Question) -> Prediction:
        # The control (if any) acts here, before the request is built: models and baselines see the same.
        image = self._images.read(question)
        started = time.perf_counter()
        try:
            completion = await self._complete(question, image)
        except CircuitOpenError:
            raise  # the whole run stops (see _run_all); this question is not recorded as failed
        except ProviderError as error:
            return Prediction(
                question.id,
                response=None,
                error={"kind": error.kind, "message": error.message},
                latency_s=round(time.perf_counter() - started, 4),
                attempts=error.attempts,
            )
        latency = round(time.perf_counter() - started, 4)
        extraction = extract_answer(
            completion.text,
            question.options,
            multiple=question.multiple,
            finish_reason=completion.finish_reason,
        )
        # The thinking is stored apart from the answer: the server's reasoning field, and any think block.
        reply = split_reasoning(completion.text)
        reasoning = "\n\n".join(part for part in (completion.reasoning, reply.reasoning) if part) or None
        response = completion.text if reply.reasoning is None else reply.answer
        # What the judge reads: the answer, or, for a reply cut off while thinking, the thinking so far.
        cut_while_thinking = extraction.stage == "truncated" and not response.strip()
        judged_text = (reasoning or "") if cut_while_thinking else response
        judged: dict[str, Any] | None = None
        if extraction.stage in _JUDGED and self._judge is not None and judged_text.strip():
            try:
                reading = await self._judge.read(question, judged_text)
            except ProviderError as error:
                return Prediction(
                    question.id,
                    response=response,
                    reasoning=reasoning,
                    error={"kind": f"judge_{error.kind}", "message": error.message},
                    latency_s=latency,
                    attempts=completion.attempts,
                )
            judged = reading.record | {"after": extraction.stage}
            if reading.letters:
                extraction = Extraction(reading.letters, "judge")
        return Prediction(
            question.id,
            response=response,
            reasoning=reasoning,
            letters=extraction.letters,
            stage=extraction.stage,
            latency_s=latency,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            attempts=completion.attempts,
            judge=judged,
            image_sha256=completion.image_sha256,
        )

    async def _complete(self, question: Question, image: bytes | None) -> Completion:
        if self._baseline is not None:
            # A baseline's letters are written as the paper's final line, so they are read like a model's.
            reply = await self._baseline.answer(question, image)
            if not reply.letters:
                return Completion(reply.reason)
            line = answer_line(reply.letters, multiple=question.multiple)
            return Completion(f"{reply.reason}\n{line}" if reply.reason else line)
        assert self._model is not None
        return await self._model.complete(build_request(question, image, self._template, self._params))
