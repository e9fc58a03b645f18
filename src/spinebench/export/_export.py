"""One entry point for every export format (what `spinebench export` calls)."""

from __future__ import annotations

from pathlib import Path

from spinebench.benchmark import Benchmark
from spinebench.export._common import FORMATS, ExportError, ExportResult
from spinebench.export._hf import DEFAULT_SHARD_ROWS, export_hf
from spinebench.export._inspect import export_inspect
from spinebench.export._lmms_eval import export_lmms_eval
from spinebench.export._vlmevalkit import export_vlmevalkit


def export_benchmark(
    bench: Benchmark,
    format: str,
    out: Path,
    *,
    subset: str | None = None,
    force: bool = False,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    progress: bool = False,
) -> ExportResult:
    """Exports `bench` (or its flagged `subset`) for a harness into the folder `out`.

    `out` must be new or empty unless `force`, which replaces only this format's earlier files there.
    `shard_rows` applies to the Hugging Face export. Raises ExportError with what to fix.
    """
    if format == "vlmevalkit":
        return export_vlmevalkit(bench, out, subset=subset, force=force, progress=progress)
    if format == "lmms-eval":
        return export_lmms_eval(bench, out, subset=subset, force=force, progress=progress)
    if format == "inspect":
        return export_inspect(bench, out, subset=subset, force=force, progress=progress)
    if format == "hf":
        return export_hf(bench, out, subset=subset, force=force, shard_rows=shard_rows, progress=progress)
    raise ExportError(f"unknown export format {format!r}; choose one of: {', '.join(FORMATS)}")
