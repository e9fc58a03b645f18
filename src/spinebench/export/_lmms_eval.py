"""lmms-eval export: a task folder (group + two task YAMLs, utils.py) with the questions in a local parquet.

    <out>/spinebench/spinebench.yaml        group "spinebench" = spinebench_sdd + spinebench_sll
    <out>/spinebench/spinebench_sdd.yaml    SDD accuracy
    <out>/spinebench/spinebench_sll.yaml    SLL exact-set accuracy, precision, recall, F1
    <out>/spinebench/utils.py               images, prompts, answer extraction, scores (self-contained)
    <out>/spinebench/spinebench_extract.py  spinebench's extraction cascade, stdlib only, used by utils.py
    <out>/spinebench/spinebench_grading.py  severity-grading metrics (SSG), stdlib only, used by utils.py
    <out>/spinebench/data/test.parquet      the Hugging Face export's columns, images embedded

The YAMLs load the data with `dataset_path: parquet` and `dataset_kwargs.data_files`, which `datasets`
resolves against the working directory, not the YAML's folder; the parquet's absolute path is therefore
written into them. Moving the folder means exporting again (or editing that one line).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Final

from spinebench import __version__
from spinebench.benchmark import Benchmark
from spinebench.export._common import (
    ExportResult,
    check_written,
    prepare_out,
    progress_bar,
    question_count,
    tracked,
    write_harness_modules,
    write_text,
)
from spinebench.export._hf import SPLIT, write_question_parquet
from spinebench.prompts import PAPER

TASK_DIR: Final = "spinebench"
GROUP: Final = "spinebench"
DATA_FILE: Final = f"data/{SPLIT}.parquet"
UTILS_TEMPLATE: Final = "harness/lmms_eval_utils.py"
MAX_NEW_TOKENS: Final = 1024  # as `spinebench eval`: the paper prompt asks for reasoning before the answer

# task name, process_docs function, metrics returned by utils.process_results for that task
_TASKS: Final = (
    ("spinebench_sdd", "sdd_docs", ("accuracy", "parsed")),
    ("spinebench_sll", "sll_docs", ("set_accuracy", "precision", "recall", "f1", "parsed")),
)
# Severity grading, written only when the benchmark has SSG questions. Kappa, sensitivity and specificity
# are corpus-level: process_results gives each question's grade pair and utils.<metric> aggregates them.
_GRADING_TASK: Final = (
    "spinebench_ssg",
    "ssg_docs",
    ("accuracy", "weighted_kappa", "severe_sensitivity", "severe_specificity", "parsed"),
)
_CORPUS_METRICS: Final = frozenset({"weighted_kappa", "severe_sensitivity", "severe_specificity"})


def export_lmms_eval(
    bench: Benchmark, out: Path, *, subset: str | None = None, force: bool = False, progress: bool = False
) -> ExportResult:
    """Writes the lmms-eval task folder `out/spinebench/`; run it with
    `lmms-eval --include_path <out>/spinebench --tasks spinebench ...`."""
    count = question_count(bench, subset)
    prepare_out(out, (TASK_DIR,), force=force, bench=bench)
    folder = out / TASK_DIR
    data = folder / DATA_FILE
    images: set[str] = set()
    with progress_bar(progress) as bar:
        task_id = bar.add_task("Exporting lmms-eval task", total=count)
        written = write_question_parquet(
            bench, tracked(bench.iter_questions(subset), bar, task_id, images), data
        )
    check_written(bench, subset, count, written)
    header = _header(bench, subset)
    files = [data]
    graded = any(q.task == "SSG" for q in bench.iter_questions(subset))
    tasks = (*_TASKS, _GRADING_TASK) if graded else _TASKS
    for task, docs, metrics in tasks:
        files.append(write_text(folder / f"{task}.yaml", header + task_yaml(task, docs, metrics, data)))
    files.append(write_text(folder / f"{GROUP}.yaml", header + group_yaml(tasks)))
    utils = resources.files("spinebench.export").joinpath(UTILS_TEMPLATE).read_text(encoding="utf-8")
    files.append(write_text(folder / "utils.py", utils))
    files.extend(write_harness_modules(folder))
    return ExportResult("lmms-eval", out, folder, count, len(images), tuple(files))


def _header(bench: Benchmark, subset: str | None) -> str:
    return (
        f"# Written by spinebench {__version__} from benchmark {bench.name!r}"
        f"{f' (subset {subset!r})' if subset else ''}, manifest sha256 {bench.manifest_sha256}.\n"
        f"# Prompts: template {PAPER.label} (sha256 {PAPER.sha256}). Regenerate rather than edit.\n"
    )


def task_yaml(task: str, docs: str, metrics: tuple[str, ...], data: Path) -> str:
    metric_list = "".join(
        f"  - metric: {metric}\n    aggregation: {_aggregation(metric)}\n    higher_is_better: true\n"
        for metric in metrics
    )
    return f"""task: {task}
dataset_path: parquet
dataset_kwargs:
  data_files:
    {SPLIT}: {json.dumps(str(data.resolve()))}
test_split: {SPLIT}
output_type: generate_until
process_docs: !function utils.{docs}
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.doc_to_text
doc_to_target: !function utils.doc_to_target
generation_kwargs:
  max_new_tokens: {MAX_NEW_TOKENS}
  temperature: 0
  top_p: 1.0
  num_beams: 1
  do_sample: false
process_results: !function utils.process_results
metric_list:
{metric_list}metadata:
  version: 1.0
"""


def _aggregation(metric: str) -> str:
    return f"!function utils.{metric}" if metric in _CORPUS_METRICS else "mean"


def group_yaml(tasks: tuple[tuple[str, str, tuple[str, ...]], ...] = _TASKS) -> str:
    names = "".join(f"  - {task}\n" for task, _, _ in tasks)
    return f"group: {GROUP}\ntask:\n{names}metadata:\n  version: 1.0\n"
