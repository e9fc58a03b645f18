"""What a built-in baseline is: it answers a `Question` directly, without a chat model.

Baselines sit on the task side of the task/model line. They see the question itself (its options, task and
the finding asked about) and, when they look at all, the image the run would send; they never parse prompt
text. Their letters are written back in the paper's final-line format (`prompts.answer_line`) so that they
go through the same extraction and scoring as a model's reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from spinebench.benchmark import Benchmark, Question


@dataclass(frozen=True, slots=True)
class BaselineAnswer:
    """The chosen letters (sorted; empty when no option fits) and, optionally, why."""

    letters: tuple[str, ...]
    reason: str = ""


@runtime_checkable
class Baseline(Protocol):
    """A built-in answerer: fitted once on the run's benchmark, then asked question by question."""

    @property
    def spec(self) -> str: ...

    def describe(self) -> dict[str, Any]:
        """What decides its answers, recorded in run.json."""
        ...

    def fit(self, benchmark: Benchmark, questions: Iterable[Question]) -> None:
        """Called once before the first question with the benchmark and the questions of the run."""
        ...

    async def answer(self, question: Question, image: bytes | None) -> BaselineAnswer: ...
