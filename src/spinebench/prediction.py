"""One line of `predictions.jsonl`: what the model said, what was read from it, or why it failed.

It sits below both `run` (which writes predictions) and `metrics` (which scores them), so neither needs the
other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from spinebench.extract import Stage


@dataclass(frozen=True, slots=True)
class Prediction:
    """An answered question, or an infrastructure error (`error` set, `stage` None: never scored)."""

    question_id: str
    response: str | None
    letters: tuple[str, ...] = ()
    stage: Stage | None = None
    error: dict[str, str] | None = None
    latency_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    attempts: int = 1
    judge: dict[str, Any] | None = field(default=None)
    # A reasoning model's thinking (a `<think>` block, or the server's reasoning field), kept apart from
    # `response` and never read for the answer.
    reasoning: str | None = None
    # sha256 of the image bytes the model was sent (providers that re-encode say which bytes), else None.
    image_sha256: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_json(self) -> str:
        # Field by field rather than dataclasses.asdict, whose deep copies cost more than the JSON itself.
        record = {name: getattr(self, name) for name in _FIELDS}
        record["letters"] = list(self.letters)
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str, *, with_text: bool = True) -> Prediction:
        record = json.loads(line)
        if not isinstance(record, dict) or "question_id" not in record:
            raise ValueError("not a prediction record")
        record["letters"] = tuple(record.get("letters") or ())
        if not with_text:  # what resuming and scoring read: letters, stage, error (see LeanPredictions)
            for name in _TEXT_AND_ACCOUNTING:
                record[name] = None
        return cls(**record)


class LeanPredictions(Mapping[str, Prediction]):
    """Predictions without their text, as resuming and scoring read them: per question, a code into the few
    distinct outcomes (letters, stage, error, attempts) a run has.

    A 65k-question run keeps every answer in memory while it is scored: as Prediction objects they would
    cost ~240 bytes each, here ~100 (the question id and a small shared integer). Reading one gives a fresh
    Prediction with no response, reasoning, judge record, latency or token counts.
    """

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._outcomes: dict[_Outcome, int] = {}
        self._table: list[_Outcome] = []
        # Lines another tool wrote with nested values where SpineBench writes strings: kept as they are.
        self._odd: dict[str, Prediction] = {}

    def add(self, prediction: Prediction) -> None:
        """Records `prediction` for its question (the latest added wins)."""
        question_id = prediction.question_id
        self._odd.pop(question_id, None)
        try:
            error = None if prediction.error is None else tuple(sorted(prediction.error.items()))
            outcome = (prediction.letters, prediction.stage, error, prediction.attempts)
            code = self._outcomes.get(outcome)
        except (AttributeError, TypeError):  # an error that is not a mapping, an unhashable value
            self._codes.pop(question_id, None)
            self._odd[question_id] = prediction
            return
        if code is None:
            code = self._outcomes[outcome] = len(self._table)
            self._table.append(outcome)
        self._codes[question_id] = code

    def __getitem__(self, question_id: str) -> Prediction:
        code = self._codes.get(question_id)
        if code is None:
            return self._odd[question_id]
        letters, stage, error, attempts = self._table[code]
        return Prediction(
            question_id, None, letters, stage, None if error is None else dict(error), attempts=attempts
        )

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._codes or question_id in self._odd

    def __iter__(self) -> Iterator[str]:
        yield from self._codes
        yield from self._odd

    def __len__(self) -> int:
        return len(self._codes) + len(self._odd)


_Outcome = tuple[tuple[str, ...], "Stage | None", "tuple[tuple[str, str], ...] | None", int]
_FIELDS = tuple(f.name for f in fields(Prediction))
_TEXT_AND_ACCOUNTING = (
    "response",
    "judge",
    "image_sha256",
    "reasoning",
    "latency_s",
    "input_tokens",
    "output_tokens",
)
