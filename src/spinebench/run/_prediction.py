"""One line of `predictions.jsonl`: what the model said, what was read from it, or why it failed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Stage = Literal["strict", "tolerant", "judge", "unparsed", "refused"]


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

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_json(self) -> str:
        record = asdict(self)
        record["letters"] = list(self.letters)
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Prediction:
        record = json.loads(line)
        if not isinstance(record, dict) or "question_id" not in record:
            raise ValueError("not a prediction record")
        record["letters"] = tuple(record.get("letters") or ())
        return cls(**record)
