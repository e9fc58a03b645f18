"""SpineBench for lmms-eval: images, prompts and scoring. Written as `utils.py` by `spinebench export`.

Self-contained on purpose (lmms-eval loads it by path): it needs Pillow, and `datasets` to read the data.
Each row of data/test.parquet carries the prompt already rendered with SpineBench's `paper` template, so the
model sees the same words as under `spinebench eval`.

Answer extraction: `spinebench_extract.py` beside this file is spinebench's own extraction cascade, written
by the exporter from the package's code (standard library only), so answers are read exactly as
`spinebench eval` reads them without a judge, whether or not spinebench is installed. lmms-eval passes no
finish_reason, so a reply cut off by the token limit is read as it stands. Nothing extractable is wrong.
"""

from __future__ import annotations

import importlib.util
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from PIL import Image


def _load_sibling(file_name: str) -> ModuleType:
    """A module `spinebench export` wrote beside this file, loaded by path (lmms-eval does not put that
    folder on sys.path)."""
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


def extract_letters(response: str, options: Sequence[str], multiple: bool) -> tuple[str, ...]:
    letters: tuple[str, ...] = _EXTRACT.extract_answer(response, list(options), multiple=multiple).letters
    return letters


# Severity grading (SSG): one module beside this file, the same in both harnesses' exports.
_GRADING = _load_sibling("spinebench_grading.py")
LETTERS: str = _GRADING.LETTERS
GRADES: tuple[str, ...] = _GRADING.GRADES
NO_ANSWER: int = _GRADING.NO_ANSWER
grade_pair: Callable[[Sequence[str], Sequence[str], Sequence[str]], list[int]] = _GRADING.grade_pair
grading_summary: Callable[[Sequence[Sequence[int]]], dict[str, float]] = _GRADING.grading_summary


def sdd_docs(dataset: Any) -> Any:
    """The diagnosis questions (lmms-eval `process_docs`); reads only the task column, not the images."""
    return dataset.filter(lambda task: task == "SDD", input_columns="task")


def sll_docs(dataset: Any) -> Any:
    """The localization questions (lmms-eval `process_docs`)."""
    return dataset.filter(lambda task: task == "SLL", input_columns="task")


def ssg_docs(dataset: Any) -> Any:
    """The severity-grading questions (lmms-eval `process_docs`)."""
    return dataset.filter(lambda task: task == "SSG", input_columns="task")


# lmms-eval aggregations of the SSG metrics: each receives every question's [truth, answer] pair.
def weighted_kappa(items: Sequence[Sequence[int]]) -> float:
    return grading_summary(items)["weighted_kappa"]


def severe_sensitivity(items: Sequence[Sequence[int]]) -> float:
    return grading_summary(items)["severe_sensitivity"]


def severe_specificity(items: Sequence[Sequence[int]]) -> float:
    return grading_summary(items)["severe_specificity"]


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


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, Any]:
    """Per-question scores: SDD accuracy; SLL exact-set accuracy, precision, recall and F1 (averaged by
    lmms-eval over questions, as SpineBench does); SSG accuracy and, for the corpus-level kappa, severe
    sensitivity and specificity, the [truth, answer] grade pair; `parsed` is the share of answers read."""
    response = str(results[0]) if results else ""
    multiple = doc["task"] == "SLL"
    letters = extract_letters(response, list(doc["options"]), multiple)
    chosen = set(letters)
    truth = set(doc["answer"])
    parsed = float(bool(chosen))
    if doc["task"] == "SSG":
        pair = grade_pair(list(doc["options"]), list(doc["answer"]), letters)
        return {
            "accuracy": float(chosen == truth),
            "weighted_kappa": pair,
            "severe_sensitivity": pair,
            "severe_specificity": pair,
            "parsed": parsed,
        }
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
