"""Built-in baselines that answer without looking: they make the chance lines real.

They answer in the paper's final-line format so their answers go through the same extraction as a model's.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from typing import Any

from spinebench.models._provider import ChatRequest, Completion
from spinebench.taxonomy import LETTERS


def final_line(letters: Iterable[str], *, multiple: bool) -> str:
    chosen = ", ".join(letters)
    return f"My final options: [{chosen}]" if multiple else f"My final option: [{chosen}]"


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

    async def complete(self, request: ChatRequest) -> Completion:
        rng = random.Random(f"{self.seed}:{request.id}")
        letters = LETTERS[: len(request.choices)]
        if request.multiple:
            mask = rng.randrange(1, 2 ** len(letters))
            chosen = [letter for bit, letter in enumerate(letters) if mask >> bit & 1]
        else:
            chosen = [rng.choice(letters)]
        return Completion(final_line(chosen, multiple=request.multiple))

    async def aclose(self) -> None:
        return None


class ConstantBaseline:
    """Always gives the same answer, named by option text (`Healthy`, `L4/L5,L5/S1`) or by letter (`A`).

    A question whose options do not include the answer gets a reply without a final line, which is scored
    as unparsed (wrong), as it would be for a model.
    """

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self._parts = [part.strip() for part in answer.split(",") if part.strip()]

    @property
    def spec(self) -> str:
        return f"constant:{self.answer}"

    def describe(self) -> dict[str, Any]:
        return {"provider": "constant", "answer": self.answer}

    async def complete(self, request: ChatRequest) -> Completion:
        letters = LETTERS[: len(request.choices)]
        lowered = [choice.lower() for choice in request.choices]
        chosen: list[str] = []
        for part in self._parts:
            if part.lower() in lowered:
                chosen.append(letters[lowered.index(part.lower())])
            elif len(part) == 1 and part.upper() in letters:
                chosen.append(part.upper())
        chosen = sorted(set(chosen))
        if not chosen or (len(chosen) > 1 and not request.multiple):
            return Completion(f"None of the options is {self.answer}.")
        return Completion(final_line(chosen, multiple=request.multiple))

    async def aclose(self) -> None:
        return None


class PriorBaseline:
    """Answers every question with the most frequent correct answer text of its task.

    Fitted on the answers of the benchmark being run (`fit`), so it shows what label imbalance alone earns.
    Ties go to the alphabetically first answer; a question without that option falls back to the most
    frequent correct letter.
    """

    def __init__(self) -> None:
        self._texts: dict[bool, tuple[str, ...]] = {}
        self._letters: dict[bool, tuple[str, ...]] = {}

    @property
    def spec(self) -> str:
        return "prior"

    def fit(self, answers: Iterable[tuple[bool, tuple[str, ...], tuple[str, ...]]]) -> None:
        """`answers` yields (multiple, answer letters, answer texts) for every question of the run."""
        texts: dict[bool, Counter[tuple[str, ...]]] = {False: Counter(), True: Counter()}
        letters: dict[bool, Counter[tuple[str, ...]]] = {False: Counter(), True: Counter()}
        for multiple, answer_letters, answer_texts in answers:
            texts[multiple][tuple(sorted(answer_texts))] += 1
            letters[multiple][answer_letters] += 1
        for multiple in (False, True):
            if texts[multiple]:
                self._texts[multiple] = min(texts[multiple].items(), key=lambda kv: (-kv[1], kv[0]))[0]
                self._letters[multiple] = min(letters[multiple].items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def describe(self) -> dict[str, Any]:
        return {
            "provider": "prior",
            "diagnosis_answer": list(self._texts.get(False, ())),
            "localization_answer": list(self._texts.get(True, ())),
        }

    async def complete(self, request: ChatRequest) -> Completion:
        texts = self._texts.get(request.multiple, ())
        letters = LETTERS[: len(request.choices)]
        if texts and all(text in request.choices for text in texts):
            chosen = sorted(letters[request.choices.index(text)] for text in texts)
        else:
            chosen = [letter for letter in self._letters.get(request.multiple, ("A",)) if letter in letters]
        return Completion(final_line(chosen or ["A"], multiple=request.multiple))

    async def aclose(self) -> None:
        return None
