"""One line of `predictions.jsonl`: what the model said, what was read from it, or why it failed.

It sits below both `run` (which writes predictions) and `metrics` (which scores them), so neither needs the
other.
"""

from __future__ import annotations

import json
import sys
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
        letters = tuple(record.get("letters") or ())
        if not with_text:
            # What resuming and scoring read (letters, stage, error), held as small as can be: a 65k-question
            # run keeps every prediction in memory while it is scored.
            for name in _TEXT_AND_ACCOUNTING:
                record[name] = None
            letters = _SHARED_LETTERS.setdefault(letters, letters) if len(_SHARED_LETTERS) < 4096 else letters
            if isinstance(record.get("stage"), str):
                record["stage"] = sys.intern(record["stage"])
        record["letters"] = letters
        return cls(**record)


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
# One tuple object per distinct answer ("A",), ("B", "D") ... shared by the predictions read without text.
_SHARED_LETTERS: dict[tuple[str, ...], tuple[str, ...]] = {}
