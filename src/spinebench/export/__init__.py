"""Exports of a benchmark to the evaluation harnesses researchers already use.

- `vlmevalkit`: one MCQ TSV with base64 images (`<out>/SpineBench_MCQ.tsv`);
- `lmms-eval`: a task folder with YAMLs, utils.py and a local parquet (`<out>/spinebench/`);
- `inspect`: samples.jsonl, images and task.py for inspect_ai (`<out>/spinebench_inspect/`);
- `hf`: Hugging Face parquet shards with embedded images, and a dataset card (`<out>/data/`,
  `<out>/README.md`).

Every export streams the questions, carries the paper-template prompt, and is byte-identical for the same
benchmark (lmms-eval YAMLs also hold the absolute path of their parquet). See docs/exports.md.
"""

from spinebench.export._common import FORMATS, ExportError, ExportFormat, ExportResult
from spinebench.export._export import export_benchmark
from spinebench.export._hf import export_hf
from spinebench.export._inspect import export_inspect
from spinebench.export._lmms_eval import export_lmms_eval
from spinebench.export._vlmevalkit import export_vlmevalkit

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportFormat",
    "ExportResult",
    "export_benchmark",
    "export_hf",
    "export_inspect",
    "export_lmms_eval",
    "export_vlmevalkit",
]
