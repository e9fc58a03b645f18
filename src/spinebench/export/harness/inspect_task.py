# mypy: ignore-errors
# (inspect_ai is an optional dependency; this file is copied as task.py next to samples.jsonl.)
"""SpineBench for inspect_ai. Written as `task.py` by `spinebench export --format inspect`.

    inspect eval task.py@spinebench_sdd --model openai/gpt-4o
    inspect eval task.py@spinebench_sll --model openai/gpt-4o -T prompt=paper

Each sample's input is one user message: the question stem, then the image (a file under images/, resolved
relative to samples.jsonl). Two ways to ask and score:

- prompt="inspect" (default): inspect's `multiple_choice` solver (chain of thought, final line
  `ANSWER: X`; `multiple_correct` for SLL) and `choice()` scorer. Standard inspect; the wording is inspect's.
- prompt="paper": the question as SpineBench's `paper` template renders it (metadata["prompt"]), answered
  with `generate()`, scored by reading the protocol's final line `My final option(s): [...]` (through
  `spinebench.extract` when spinebench is importable, else a compact reader of that line). This matches
  `spinebench eval` without a judge.

Scores are exact: SDD accuracy; SLL exact-set accuracy (precision and recall: run `spinebench eval`).
"""

from __future__ import annotations

import re
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import Dataset, json_dataset
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, choice, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, multiple_choice, solver

SAMPLES = Path(__file__).resolve().parent / "samples.jsonl"
LETTERS = "ABCDEFGHIJ"
_FINAL_LINE = re.compile(
    r"[\s*_#>]*(?i:my\s+final\s+options?|final\s+answers?|answers?)[\s*_]*[:：][\s*_]*"
    r"\[?\s*(?P<set>[A-J](?:\s*,\s*[A-J]|\s+[A-J])*)\s*\]?[\s*_.]*"
)
_LONE = re.compile(r"[\s*_(\[]*(?P<set>[A-J](?:\s*,\s*[A-J])*)[\s*_)\].]*")


def compact_extract(response: str, options: list[str], multiple: bool) -> tuple[str, ...]:
    """The letters of the final line or of a letters-only reply; () when absent or invalid."""
    lines = [line for line in response.splitlines() if line.strip()]
    if not lines:
        return ()
    match = _FINAL_LINE.fullmatch(lines[-1]) or _LONE.fullmatch(response)
    if match is None:
        return ()
    letters = tuple(sorted(set(re.findall(r"[A-J]", match["set"]))))
    if any(letter not in LETTERS[: len(options)] for letter in letters):
        return ()
    if not multiple and len(letters) != 1:
        return ()
    return letters


def extract_letters(response: str, options: list[str], multiple: bool) -> tuple[str, ...]:
    try:
        from spinebench.extract import extract_answer
    except ImportError:
        return compact_extract(response, options, multiple)
    return extract_answer(response, options, multiple=multiple).letters


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
        letters = extract_letters(state.output.completion, options, multiple)
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
        )
    if prompt != "inspect":
        raise ValueError(f"prompt must be 'inspect' or 'paper', not {prompt!r}")
    return Task(
        dataset=spinebench_dataset(task_name),
        solver=multiple_choice(cot=True, multiple_correct=multiple),
        scorer=choice(),
    )


@task
def spinebench_sdd(prompt: str = "inspect") -> Task:
    """Spinal disease diagnosis: one correct option of five."""
    return _task("SDD", False, prompt)


@task
def spinebench_sll(prompt: str = "inspect") -> Task:
    """Spinal lesion localization: every affected disc level (one or more of five)."""
    return _task("SLL", True, prompt)
