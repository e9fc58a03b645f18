"""An LLM that reads an answer the rules could not, with its replies cached in the run directory.

The judge sees only the question, the options and the response, and is asked for the letters alone. Its
replies are appended to `judge_cache.jsonl`, keyed by the judge spec and the exact prompt, so a resumed or
repeated run never pays twice for the same reading.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from spinebench.benchmark import Question
from spinebench.extract import extract_strict, extract_tolerant, judge_prompt
from spinebench.models import ChatRequest, GenerationParams, Provider
from spinebench.run._directory import JUDGE_CACHE

_JUDGE_PARAMS: Final = GenerationParams(temperature=0.0, max_tokens=64, seed=0)


@dataclass(frozen=True, slots=True)
class JudgeReading:
    letters: tuple[str, ...] | None
    record: dict[str, Any]


class Judge:
    def __init__(self, provider: Provider, run_dir: Path) -> None:
        self.provider = provider
        self._file = run_dir / JUDGE_CACHE
        self._cache: dict[str, str] = {}
        if self._file.exists():
            for line in self._file.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self._cache[entry["key"]] = entry["response"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line: that reading is simply asked again
        self.calls = 0

    async def read(self, question: Question, response: str) -> JudgeReading:
        """The letters the response commits to, per the judge (None when it finds none)."""
        text = judge_prompt(question.question, question.options, response, multiple=question.multiple)
        key = hashlib.sha256(f"{self.provider.spec}\x00{text}".encode()).hexdigest()
        reply = self._cache.get(key)
        cached = reply is not None
        if reply is None:
            request = ChatRequest(
                id=f"judge:{question.id}",
                text=text,
                image=None,
                params=_JUDGE_PARAMS,
            )
            reply = (await self.provider.complete(request)).text
            self.calls += 1
            self._cache[key] = reply
            line = json.dumps({"key": key, "response": reply}, ensure_ascii=False) + "\n"
            with self._file.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        letters = extract_strict(reply, question.options, multiple=question.multiple)
        if letters is None:
            letters = extract_tolerant(reply, question.options, multiple=question.multiple)
        return JudgeReading(letters, {"response": reply, "letters": list(letters or ()), "cached": cached})
