"""SpineBench for lmms-eval: images, prompts and scoring. Written as `utils.py` by `spinebench export`.

Self-contained on purpose (lmms-eval loads it by path): it needs Pillow, and `datasets` to read the data.
Each row of data/test.parquet carries the prompt already rendered with SpineBench's `paper` template, so the
model sees the same words as under `spinebench eval`.

Answer extraction: when the `spinebench` package is importable, its rule cascade (`spinebench.extract`:
the protocol's final line, then tolerant answer forms) reads the answers, so scores match `spinebench eval`
run without a judge. Otherwise a compact built-in extractor reads only the protocol's final line
(`My final option: [X]`, `My final options: [X, Y]`, also `Answer: X`) or a reply that is nothing but
letters. Set SPINEBENCH_EXTRACT=compact to use the compact one even when spinebench is installed.
`EXTRACTOR` names the one in use. Nothing extractable is scored as wrong.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from PIL import Image

LETTERS: Final = "ABCDEFGHIJ"
Extractor = Callable[[str, Sequence[str], bool], tuple[str, ...]]

# The final line, alone on the last non-empty line: "My final options: [A, C]", "**Answer:** B".
_FINAL_LINE: Final = re.compile(
    r"[\s*_#>]*(?i:my\s+final\s+options?|final\s+answers?|answers?)[\s*_]*[:：][\s*_]*"
    r"\[?\s*(?P<set>[A-J](?:\s*,\s*[A-J]|\s+[A-J])*)\s*\]?[\s*_.]*"
)
# A reply that is only letters: "B", "(B)", "A, C."
_LONE: Final = re.compile(r"[\s*_(\[]*(?P<set>[A-J](?:\s*,\s*[A-J])*)[\s*_)\].]*")


def compact_extract(response: str, options: Sequence[str], multiple: bool) -> tuple[str, ...]:
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


def _spinebench_extractor() -> Extractor | None:
    if os.environ.get("SPINEBENCH_EXTRACT", "auto").strip().lower() == "compact":
        return None
    try:
        from spinebench.extract import extract_answer
    except ImportError:
        return None

    def extract(response: str, options: Sequence[str], multiple: bool) -> tuple[str, ...]:
        return extract_answer(response, options, multiple=multiple).letters

    return extract


_FULL: Final = _spinebench_extractor()
EXTRACTOR: Final = "spinebench" if _FULL is not None else "compact"


def extract_letters(response: str, options: Sequence[str], multiple: bool) -> tuple[str, ...]:
    return (_FULL or compact_extract)(response, options, multiple)


def sdd_docs(dataset: Any) -> Any:
    """The diagnosis questions (lmms-eval `process_docs`); reads only the task column, not the images."""
    return dataset.filter(lambda task: task == "SDD", input_columns="task")


def sll_docs(dataset: Any) -> Any:
    """The localization questions (lmms-eval `process_docs`)."""
    return dataset.filter(lambda task: task == "SLL", input_columns="task")


def doc_to_visual(doc: dict[str, Any]) -> list[Image.Image]:
    """The question's image as RGB; `datasets` usually hands over a PIL image, raw rows a {bytes, path}."""
    image = doc["image"]
    if isinstance(image, dict):
        image = Image.open(io.BytesIO(image["bytes"]))
    if not isinstance(image, Image.Image):
        raise TypeError(f"question {doc.get('id')}: image is {type(image).__name__}, not an image")
    return [image.convert("RGB")]


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None) -> str:
    """The paper-template prompt; a model's pre_prompt/post_prompt (if configured) wrap it."""
    kwargs = lmms_eval_specific_kwargs or {}
    return f"{kwargs.get('pre_prompt', '')}{doc['prompt']}{kwargs.get('post_prompt', '')}"


def doc_to_target(doc: dict[str, Any]) -> str:
    return ", ".join(doc["answer"])


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """Per-question scores: SDD accuracy; SLL exact-set accuracy, precision, recall and F1 (averaged by
    lmms-eval over questions, as SpineBench does); `parsed` is the share of answers read at all."""
    response = str(results[0]) if results else ""
    multiple = doc["task"] == "SLL"
    chosen = set(extract_letters(response, list(doc["options"]), multiple))
    truth = set(doc["answer"])
    parsed = float(bool(chosen))
    if not multiple:
        return {"accuracy": float(chosen == truth), "parsed": parsed}
    hits = len(chosen & truth)
    precision = hits / len(chosen) if chosen else 0.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {
        "set_accuracy": float(chosen == truth),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "parsed": parsed,
    }
