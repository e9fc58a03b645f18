# mypy: ignore-errors
# (inspect_ai is an optional dependency; this file is copied as task.py next to samples.jsonl.)
"""SpineBench for inspect_ai. Written as `task.py` by `spinebench export --format inspect`.

    inspect eval task.py@spinebench_sdd --model openai/gpt-4o
    inspect eval task.py@spinebench_sll --model openai/gpt-4o -T prompt=inspect
    inspect eval task.py@spinebench_ssg --model openai/gpt-4o   (when the benchmark has SSG questions)

Each sample's input is one user message: the question stem, then the image (a file under images/, resolved
relative to samples.jsonl). Two ways to ask and score:

- prompt="paper" (default): the question as SpineBench's `paper` template renders it
  (metadata["prompt"]), answered with `generate()`, scored by SpineBench's own extraction cascade
  (`spinebench_extract.py` beside this file, written by the exporter from the package's code; spinebench
  need not be installed). This matches
  `spinebench eval` without a judge; a reply cut off by max_tokens is not read (stage `truncated`).
- prompt="inspect": inspect's `multiple_choice` solver (chain of thought, final line `ANSWER: X`;
  `multiple_correct` for SLL) and `choice()` scorer. Standard inspect; the wording and the reading are
  inspect's, so its scores are not comparable with SpineBench's.

Both generate greedily (temperature 0) with at most 1024 new tokens, as `spinebench eval` does. Against an
OpenAI-compatible server (vLLM, SGLang) pass `-M responses_api=false`, so that inspect's `openai` provider
sends chat completions rather than the Responses API (its choice for some model names).

Scores are exact: SDD accuracy; SLL exact-set accuracy (precision and recall: run `spinebench eval`); SSG
accuracy, quadratic-weighted kappa, severe sensitivity and specificity (intervals: run `spinebench eval`).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from inspect_ai import Task, task
from inspect_ai.dataset import Dataset, json_dataset
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Metric,
    Score,
    Scorer,
    Target,
    accuracy,
    choice,
    metric,
    scorer,
    stderr,
)
from inspect_ai.solver import Generate, Solver, TaskState, multiple_choice, solver

SAMPLES = Path(__file__).resolve().parent / "samples.jsonl"
# As `spinebench eval`: greedy, and room for the reasoning the paper prompt asks for before the answer.
GENERATION = GenerateConfig(temperature=0.0, max_tokens=1024)


def _load_sibling(file_name: str) -> ModuleType:
    """A module `spinebench export` wrote beside this file, loaded by path whatever the working directory."""
    path = Path(__file__).resolve().with_name(file_name)
    name = f"{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot load this SpineBench module; export the task again")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


_EXTRACT = _load_sibling("spinebench_extract.py")


# Severity grading (SSG): one module beside this file, the same in both harnesses' exports.
_GRADING = _load_sibling("spinebench_grading.py")
LETTERS: str = _GRADING.LETTERS
GRADES: tuple[str, ...] = _GRADING.GRADES
NO_ANSWER: int = _GRADING.NO_ANSWER
grade_pair: Callable[[Sequence[str], Sequence[str], Sequence[str]], list[int]] = _GRADING.grade_pair
grading_summary: Callable[[Sequence[Sequence[int]]], dict[str, float]] = _GRADING.grading_summary


def extract_letters(
    response: str, options: list[str], multiple: bool, finish_reason: str | None = None
) -> tuple[str, ...]:
    return _EXTRACT.extract_answer(response, options, multiple=multiple, finish_reason=finish_reason).letters


def spinebench_dataset(task_name: str) -> Dataset:
    dataset = json_dataset(str(SAMPLES), name="spinebench")
    return dataset.filter(lambda sample: sample.metadata["task"] == task_name, name=f"spinebench_{task_name}")


@solver
def paper_prompt() -> Solver:
    """Replaces the stem with the paper-template prompt (the image stays after the text), then generates."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.user_prompt.text = state.metadata["prompt"]
        return await generate(state)

    return solve


@scorer(metrics=[accuracy(), stderr()])
def paper_final_line(multiple: bool) -> Scorer:
    """Correct when the letters read from the reply are exactly the target letters."""

    async def score(state: TaskState, target: Target) -> Score:
        options = [option.value for option in state.choices]
        # inspect's "max_tokens" stop reason is the server's finish_reason "length".
        cut = "length" if state.output.stop_reason == "max_tokens" else None
        letters = extract_letters(state.output.completion, options, multiple, cut)
        right = bool(letters) and set(letters) == set(target.target)
        return Score(
            value=CORRECT if right else INCORRECT,
            answer=", ".join(letters),
            explanation=state.output.completion,
        )

    return score


def _task(task_name: str, multiple: bool, prompt: str) -> Task:
    if prompt == "paper":
        return Task(
            dataset=spinebench_dataset(task_name),
            solver=[paper_prompt()],
            scorer=paper_final_line(multiple),
            config=GENERATION,
        )
    if prompt != "inspect":
        raise ValueError(f"prompt must be 'inspect' or 'paper', not {prompt!r}")
    return Task(
        dataset=spinebench_dataset(task_name),
        solver=multiple_choice(cot=True, multiple_correct=multiple),
        scorer=choice(),
        config=GENERATION,
    )


def _grade_pairs(scores: list) -> list[list[int]]:
    # inspect passes SampleScore objects (older releases: Score objects); the pair is in the score metadata.
    return [getattr(item, "score", item).metadata["grades"] for item in scores]


@metric
def weighted_kappa() -> Metric:
    """Cohen's quadratic-weighted kappa over every SSG answer (a no-answer disagrees fully)."""

    def compute(scores: list) -> float:
        return grading_summary(_grade_pairs(scores))["weighted_kappa"]

    return compute


@metric
def severe_sensitivity() -> Metric:
    """Severe cases answered Severe."""

    def compute(scores: list) -> float:
        return grading_summary(_grade_pairs(scores))["severe_sensitivity"]

    return compute


@metric
def severe_specificity() -> Metric:
    """Non-severe cases answered with another grade."""

    def compute(scores: list) -> float:
        return grading_summary(_grade_pairs(scores))["severe_specificity"]

    return compute


@scorer(metrics=[accuracy(), stderr(), weighted_kappa(), severe_sensitivity(), severe_specificity()])
def grading_scorer(paper: bool) -> Scorer:
    """Right when the one grade answered is the truth; keeps the grade pair for the corpus metrics."""

    async def score(state: TaskState, target: Target) -> Score:
        options = [option.value for option in state.choices]
        if paper:
            cut = "length" if state.output.stop_reason == "max_tokens" else None
            letters = extract_letters(state.output.completion, options, False, cut)
        else:  # inspect's multiple_choice solver marks the chosen options
            letters = tuple(LETTERS[i] for i, option in enumerate(state.choices) if option.correct)
        pair = grade_pair(options, list(target.target), letters)
        return Score(
            value=CORRECT if pair[0] == pair[1] else INCORRECT,
            answer=", ".join(letters),
            explanation=state.output.completion,
            metadata={"grades": pair},
        )

    return score


@task
def spinebench_sdd(prompt: str = "paper") -> Task:
    """Spinal disease diagnosis: one correct option of five."""
    return _task("SDD", False, prompt)


@task
def spinebench_sll(prompt: str = "paper") -> Task:
    """Spinal lesion localization: every affected disc level (one or more of five)."""
    return _task("SLL", True, prompt)


@task
def spinebench_ssg(prompt: str = "paper") -> Task:
    """Spinal severity grading (RSNA 2024): Normal/Mild, Moderate or Severe at one level; scored by accuracy,
    quadratic-weighted kappa and severe-case sensitivity and specificity."""
    if prompt == "paper":
        return Task(
            dataset=spinebench_dataset("SSG"),
            solver=[paper_prompt()],
            scorer=grading_scorer(True),
            config=GENERATION,
        )
    if prompt != "inspect":
        raise ValueError(f"prompt must be 'inspect' or 'paper', not {prompt!r}")
    return Task(
        dataset=spinebench_dataset("SSG"),
        solver=multiple_choice(cot=True, multiple_correct=False),
        scorer=grading_scorer(False),
        config=GENERATION,
    )
