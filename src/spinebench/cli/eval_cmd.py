"""`spinebench eval`: run a model over a benchmark into a resumable run directory."""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import cast

import typer
from rich.console import Console
from rich.text import Text

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.cli._errors import reports_errors
from spinebench.display import terminal_safe
from spinebench.errors import SpineBenchError
from spinebench.models import GenerationParams, ProviderOptions, RetryPolicy
from spinebench.report import breakdown_table, scores_table
from spinebench.run import (
    MODEL_HELP,
    EvalSettings,
    Executor,
    ImageControl,
    RichReporter,
    RunDirectory,
    evaluate,
)

EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130  # as a shell reports a process stopped by SIGINT


class PromptChoice(StrEnum):
    paper = "paper"
    plain = "plain"


class VerifyChoice(StrEnum):
    auto = "auto"
    quick = "quick"
    full = "full"


def _finite(value: float) -> float:
    # typer's min= lets "inf" through; it cannot be sent as JSON nor sampled with.
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def cluster_executor(
    benchmark: Benchmark, settings: EvalSettings, address: str, actors: int | None
) -> Executor:
    from spinebench.cluster import RayEvalExecutor, RayVLLMExecutor, connect

    connect(address)  # a missing Ray or an unreachable cluster is said before any run directory is made
    if settings.model.startswith("vllm:"):
        return RayVLLMExecutor(benchmark, settings, address, engines=actors or 1)
    return RayEvalExecutor(benchmark, settings, address, actors=actors)


class ImageControlChoice(StrEnum):
    text_only = "text-only"
    blank = "blank"
    shuffled = "shuffled"
    noise = "noise"


def default_run_dir(
    model: str, subset: str | None, image_control: str | None = None, paraphrases: int = 1
) -> Path:
    """runs/<model>[-<subset>][-<control>][-para<K>]: a control run never resumes into the real run."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"
    parts = [slug, *(p for p in (subset, image_control) if p)]
    if paraphrases > 1:
        parts.append(f"para{paraphrases}")
    return Path("runs") / "-".join(parts)


@reports_errors
def eval_command(
    bench: Path | None = typer.Argument(
        None, help="Benchmark directory. Without it, the small synthetic sample bundled with SpineBench."
    ),
    model: str = typer.Option(..., "--model", "-m", help=f"Model spec: {MODEL_HELP}."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run directory (default runs/<model>). The same command again resumes it."
    ),
    subset: str | None = typer.Option(
        None, help="Evaluate only a flagged subset, e.g. 'sub' (SpineBench-Sub)."
    ),
    prompt: PromptChoice = typer.Option(PromptChoice.paper, help="Prompt template."),
    base_url: str | None = typer.Option(
        None, help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (default: $OPENAI_BASE_URL)."
    ),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY",
        help="Name of the environment variable holding the API key (never written anywhere).",
    ),
    concurrency: int = typer.Option(8, min=1, help="Requests in flight at once."),
    timeout: float = typer.Option(120.0, min=0.1, help="Seconds before one request times out."),
    max_attempts: int = typer.Option(6, min=1, help="Attempts per request on 429, 5xx, timeouts."),
    temperature: float = typer.Option(
        0.0, min=0.0, callback=_finite, help="Sampling temperature (0 = greedy)."
    ),
    max_tokens: int = typer.Option(
        1024, "--max-tokens", "--max-new-tokens", min=1, help="Most tokens the model may generate per answer."
    ),
    seed: int = typer.Option(0, help="Seed sent to the model and used by the random baseline."),
    dtype: str = typer.Option("auto", help="hf/vllm: auto, float32, float16 or bfloat16."),
    device: str = typer.Option("auto", help="hf: auto (CUDA when present), cpu, cuda, cuda:1, mps."),
    batch_size: int = typer.Option(8, min=1, help="hf/vllm: questions generated together (≤ concurrency)."),
    tensor_parallel_size: int = typer.Option(1, min=1, help="vllm: GPUs to split the model over."),
    trust_remote_code: bool = typer.Option(False, help="hf/vllm: run the model repository code."),
    judge: str | None = typer.Option(
        None, help="Model spec of an LLM that extracts the answer when the rules cannot (any provider)."
    ),
    judge_base_url: str | None = typer.Option(
        None, help="--judge openai:<model>: its endpoint (default: the model's --base-url)."
    ),
    judge_api_key_env: str | None = typer.Option(
        None, help="--judge: the environment variable holding its API key (default: --api-key-env)."
    ),
    rerun_errors: bool = typer.Option(
        True, help="On resume, ask again the questions whose last attempt failed (timeouts, 5xx, 429)."
    ),
    verify: VerifyChoice = typer.Option(
        VerifyChoice.auto,
        help="quick: hash the question table, check images as they are read; full: hash every image "
        "first; auto: full below 5,000 images, else quick.",
    ),
    overwrite: bool = typer.Option(
        False, help="Discard what --out holds (answers of this or another configuration); start afresh."
    ),
    circular: bool = typer.Option(
        False, help="Ask each diagnosis question once per rotation of its options; correct only if all are."
    ),
    image_control: ImageControlChoice | None = typer.Option(
        None,
        help="Ask with the image changed, as a control run of its own: text-only (no image), blank (grey), "
        "shuffled (another disease's image), noise. Compare with `spinebench audit`.",
    ),
    paraphrases: int = typer.Option(
        1, min=1, help="Ask each question in this many wordings of the question pool; reports consistency."
    ),
    details: bool = typer.Option(False, help="Also print accuracy per disease, source and modality."),
    ray: str | None = typer.Option(
        None,
        help="Shard the questions across a Ray cluster: local (start one here), auto, or its ADDRESS "
        "(needs spinebench[ray]; vllm:<model> runs vLLM engines on GPU workers, spinebench[ray-vllm]).",
    ),
    ray_actors: int | None = typer.Option(
        None, min=1, help="--ray: worker actors (vllm: engine replicas); default half the cluster's CPUs (1)."
    ),
) -> None:
    """Evaluate a model on SpineBench and write predictions.jsonl, run.json and scores.json."""
    console = Console()
    benchmark = Benchmark.open(bench or SAMPLE_PATH, verify=verify.value)
    control = image_control.value if image_control else None
    out = out or default_run_dir(model, subset, control, paraphrases)
    if (judge_base_url is not None or judge_api_key_env is not None) and not judge:
        raise typer.BadParameter("--judge-base-url and --judge-api-key-env need --judge MODEL")
    provider_options = ProviderOptions(
        base_url=base_url,
        api_key_env=api_key_env,
        timeout=timeout,
        retry=RetryPolicy(max_attempts=max_attempts),
        seed=seed,
        dtype=dtype,
        device=device,
        batch_size=batch_size,
        tensor_parallel_size=tensor_parallel_size,
        trust_remote_code=trust_remote_code,
    )
    judge_options = None
    if judge_base_url is not None or judge_api_key_env is not None:
        judge_options = dataclasses.replace(
            provider_options,
            base_url=judge_base_url if judge_base_url is not None else base_url,
            api_key_env=judge_api_key_env if judge_api_key_env is not None else api_key_env,
        )
    settings = EvalSettings(
        model=model,
        prompt=prompt.value,
        params=GenerationParams(temperature=temperature, max_tokens=max_tokens, seed=seed),
        subset=subset,
        judge=judge,
        seed=seed,
        concurrency=concurrency,
        rerun_errors=rerun_errors,
        circular=circular,
        overwrite=overwrite,
        image_control=cast("ImageControl | None", control),  # the enum's values are the Literal's
        paraphrases=paraphrases,
        provider_options=provider_options,
        judge_options=judge_options,
    )
    title = terminal_safe(f"{model} on {benchmark.name}" + (f" ({control} control)" if control else ""))
    reporter = RichReporter(title, console=console)
    executor = cluster_executor(benchmark, settings, ray, ray_actors) if ray else None
    try:
        result = evaluate(benchmark, out, settings, reporter=reporter, executor=executor)
    except KeyboardInterrupt:
        saved = _answers_saved(out)
        console.print(
            f"Interrupted: {saved} answers saved in {out}; run the same command again to resume.",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    console.print(scores_table(result.scores, title=title))
    if details:
        for key in ("disease", "source", "modality"):
            console.print(breakdown_table(result.scores, key, title=f"Accuracy by {key}"))
    console.print(f"Run directory: {result.run_dir}", markup=False, soft_wrap=True)
    if result.scores["counts"]["errors"]:
        # A dead server or a wrong key fails every question the same way: say how, not only how often.
        failures = Counter(
            f"{p.error['kind']}: {p.error['message']}"
            for p in RunDirectory(result.run_dir).load_predictions(with_text=False).values()
            if p.error is not None
        )
        for message, count in failures.most_common(3):
            # The message quotes the server's reply: no escape sequence of its may reach the terminal.
            console.print(Text(terminal_safe(f"{count} x {message}"), style="red"))
    if result.scores["status"] != "complete":
        raise typer.Exit(EXIT_INCOMPLETE)


def _answers_saved(out: Path) -> int:
    try:
        predictions = RunDirectory(out).load_predictions(with_text=False)
    except SpineBenchError:
        return 0
    return sum(1 for p in predictions.values() if not p.failed)
