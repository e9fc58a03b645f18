"""inspect_ai export: samples.jsonl + images/ + task.py in `<out>/spinebench_inspect/`.

Each line of samples.jsonl is an inspect `Sample` in the form `json_dataset` reads without a field spec:
`id`, `input` (one user message: the question stem as text, then the image as a file path relative to the
JSONL, which inspect resolves against the file's folder), `choices` (option texts), `target` (the letter for
SDD and SSG, the list of letters for SLL) and `metadata` (task, disease, source, modality, subsets, answer
texts, the paper-template `prompt`, and the graded `level` of an SSG question). Images are copied once
each, under the benchmark's content-addressed names. `spinebench_extract.py`, spinebench's extraction
cascade as one stdlib-only module, and `spinebench_grading.py`, the severity-grading metrics, sit beside
task.py.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Final

from spinebench.benchmark import Benchmark, Question
from spinebench.export._common import (
    ExportResult,
    atomic_file,
    check_written,
    image_path,
    prepare_out,
    progress_bar,
    question_count,
    write_harness_modules,
    write_text,
)
from spinebench.prompts import PAPER, render_prompt

INSPECT_DIR: Final = "spinebench_inspect"
SAMPLES_NAME: Final = "samples.jsonl"
TASK_NAME: Final = "task.py"
TASK_TEMPLATE: Final = "harness/inspect_task.py"


def sample_record(question: Question) -> dict[str, Any]:
    """The inspect Sample of a question; the image path is the benchmark's relative one, kept as is."""
    return {
        "id": question.id,
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": question.question},
                    {"type": "image", "image": question.image},
                ],
            }
        ],
        "choices": list(question.options),
        "target": list(question.answer) if question.multiple else question.answer[0],
        "metadata": {
            "task": question.task,
            "disease": question.disease,
            "source": question.source,
            "modality": question.modality,
            "subsets": list(question.subsets),
            "answer_text": list(question.answer_texts),
            "prompt": render_prompt(question, PAPER),
            **({"level": question.level} if question.level is not None else {}),
        },
    }


def export_inspect(
    bench: Benchmark, out: Path, *, subset: str | None = None, force: bool = False, progress: bool = False
) -> ExportResult:
    """Writes `out/spinebench_inspect/`; run it with
    `inspect eval <out>/spinebench_inspect/task.py@spinebench_sdd --model ...`."""
    count = question_count(bench, subset)
    prepare_out(out, (INSPECT_DIR,), force=force, bench=bench)
    folder = out / INSPECT_DIR
    images: set[str] = set()
    written = 0
    with progress_bar(progress) as bar, atomic_file(folder / SAMPLES_NAME) as temporary:
        task_id = bar.add_task("Exporting inspect samples", total=count)
        with temporary.open("w", encoding="utf-8", newline="\n") as handle:
            for question in bench.iter_questions(subset):
                if question.image not in images:
                    _copy_image(bench, question, folder)
                    images.add(question.image)
                handle.write(json.dumps(sample_record(question), ensure_ascii=False) + "\n")
                written += 1
                bar.advance(task_id)
    check_written(bench, subset, count, written)
    template = resources.files("spinebench.export").joinpath(TASK_TEMPLATE).read_text(encoding="utf-8")
    task = write_text(folder / TASK_NAME, template)
    modules = write_harness_modules(folder)
    image_files = tuple(folder / image for image in sorted(images))
    return ExportResult(
        "inspect", out, folder, count, len(images), (folder / SAMPLES_NAME, task, *modules, *image_files)
    )


def _copy_image(bench: Benchmark, question: Question, folder: Path) -> None:
    with atomic_file(folder / image_path(question)) as temporary:
        temporary.write_bytes(bench.read_image(question))
