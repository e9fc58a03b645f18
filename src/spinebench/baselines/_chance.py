"""Baselines that answer without looking: random, constant and prior. They make the chance lines real."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any

from spinebench.baselines._baseline import BaselineAnswer
from spinebench.benchmark import Benchmark, Question
from spinebench.errors import ModelSpecError
from spinebench.taxonomy import LETTERS, TASKS


class RandomBaseline:
    """Uniform over the options (SDD) or over the non-empty subsets of options (SLL).

    The draw for a question depends only on the seed and the question id, so answers do not change with
    concurrency, order or resume.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    @property
    def spec(self) -> str:
        return "random"

    def describe(self) -> dict[str, Any]:
        return {"provider": "random", "seed": self.seed}

    def fit(self, benchmark: Benchmark, questions: Iterable[Question]) -> None:
        return None

    async def answer(self, question: Question, image: bytes | None) -> BaselineAnswer:
        rng = random.Random(f"{self.seed}:{question.id}")
        letters = question.letters
        if question.multiple:
            mask = rng.randrange(1, 2 ** len(letters))
            chosen = tuple(letter for bit, letter in enumerate(letters) if mask >> bit & 1)
        else:
            chosen = (rng.choice(letters),)
        return BaselineAnswer(chosen)


class ConstantBaseline:
    """Always gives the same answer, named by option text (`Healthy`, `L4/L5,L5/S1`) or by letter (`A`).

    A question whose options do not include the answer gets a reply without a final line, which is scored
    as unparsed (wrong), as it would be for a model.
    """

    def __init__(self, answer: str) -> None:
        self.answer_text = answer
        self._parts = [part.strip() for part in answer.split(",") if part.strip()]

    @property
    def spec(self) -> str:
        return f"constant:{self.answer_text}"

    def describe(self) -> dict[str, Any]:
        return {"provider": "constant", "answer": self.answer_text}

    def fit(self, benchmark: Benchmark, questions: Iterable[Question]) -> None:
        """Refuses an answer no question of the run offers (`constant:Zebra`, or `constant:F` where the
        questions have options A-E, would score 0 silently)."""
        questions = list(questions)
        letters = {letter for question in questions for letter in question.letters}
        check_constant_answer(self.answer_text, answer_classes(questions), letters)

    async def answer(self, question: Question, image: bytes | None) -> BaselineAnswer:
        letters = question.letters
        lowered = [option.lower() for option in question.options]
        chosen: set[str] = set()
        for part in self._parts:
            if part.lower() in lowered:
                chosen.add(letters[lowered.index(part.lower())])
            elif len(part) == 1 and part.upper() in letters:
                chosen.add(part.upper())
        if not chosen or (len(chosen) > 1 and not question.multiple):
            return BaselineAnswer((), f"None of the options is {self.answer_text}.")
        return BaselineAnswer(tuple(sorted(chosen)))


def answer_classes(questions: Iterable[Question]) -> set[str]:
    """Every option text of the questions: the answers a constant baseline may name."""
    return {option for question in questions for option in question.options}


def check_constant_answer(answer: str, classes: Collection[str], letters: Collection[str] = LETTERS) -> None:
    """Raises ModelSpecError unless every comma-separated part of `answer` is one of `letters` or of
    `classes`.

    `classes` are the option texts of the benchmark being run (diseases, "Healthy", disc levels) and
    `letters` the option letters its questions have; the comparison ignores case, as answering does.
    """
    known = {text.lower() for text in classes}
    parts = [part.strip() for part in answer.split(",") if part.strip()]
    unknown = [part for part in parts if part.lower() not in known and not _is_letter(part, letters)]
    if unknown or not parts:
        shown = ", ".join(sorted(classes, key=str.lower)) or "none"
        offered = "".join(sorted(letters)) or "none"
        raise ModelSpecError(
            f"constant:{answer}: {', '.join(repr(p) for p in unknown) or 'the answer'} is not an answer of "
            f"this benchmark; give an option letter ({offered}) or one of: {shown}"
        )


def _is_letter(part: str, letters: Collection[str]) -> bool:
    return len(part) == 1 and part.upper() in letters


class PriorBaseline:
    """Answers every question with the most frequent correct answer text of its task.

    Fitted on the answers of the questions being run, so it shows what label imbalance alone earns. Ties go
    to the alphabetically first answer; a question without that option falls back to the most frequent
    correct letter.
    """

    def __init__(self) -> None:
        # Per task: SDD and SSG both have one answer, but diseases and grades are different answers.
        self._texts: dict[str, tuple[str, ...]] = {}
        self._letters: dict[str, tuple[str, ...]] = {}

    @property
    def spec(self) -> str:
        return "prior"

    def fit(self, benchmark: Benchmark, questions: Iterable[Question]) -> None:
        texts: dict[str, Counter[tuple[str, ...]]] = {task: Counter() for task in TASKS}
        letters: dict[str, Counter[tuple[str, ...]]] = {task: Counter() for task in TASKS}
        for question in questions:
            texts[question.task][tuple(sorted(question.answer_texts))] += 1
            letters[question.task][question.answer] += 1
        for task in TASKS:
            if texts[task]:
                self._texts[task] = min(texts[task].items(), key=lambda kv: (-kv[1], kv[0]))[0]
                self._letters[task] = min(letters[task].items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def describe(self) -> dict[str, Any]:
        return {
            "provider": "prior",
            "diagnosis_answer": list(self._texts.get("SDD", ())),
            "localization_answer": list(self._texts.get("SLL", ())),
            **({"grading_answer": list(self._texts["SSG"])} if "SSG" in self._texts else {}),
        }

    async def answer(self, question: Question, image: bytes | None) -> BaselineAnswer:
        texts = self._texts.get(question.task, ())
        letters = question.letters
        if texts and all(text in question.options for text in texts):
            chosen = sorted(letters[question.options.index(text)] for text in texts)
        else:
            chosen = [letter for letter in self._letters.get(question.task, ("A",)) if letter in letters]
        return BaselineAnswer(tuple(chosen or ["A"]))
