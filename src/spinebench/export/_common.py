"""What every export shares: the rules for the output folder, atomic files, the result record, the error."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, Literal

from rich.console import Console
from rich.progress import Progress, TaskID

from spinebench import __version__
from spinebench.benchmark import Benchmark, Question
from spinebench.errors import SpineBenchError
from spinebench.extract import STANDALONE_MODULE, standalone_source

ExportFormat = Literal["vlmevalkit", "lmms-eval", "inspect", "hf"]
FORMATS: Final[tuple[ExportFormat, ...]] = ("vlmevalkit", "lmms-eval", "inspect", "hf")
GRADING_MODULE: Final = "spinebench_grading.py"
GRADING_TEMPLATE: Final = "harness/spinebench_grading.py"
# The benchmark's content-addressed image names; exports copy them under the same relative path.
_IMAGE_PATH: Final = re.compile(r"images/[0-9a-f]{2}/[0-9a-f]{64}\.(?:jpg|png)")


class ExportError(SpineBenchError):
    """An export cannot be written: unknown format, unusable output folder, inconsistent benchmark."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote. `main` is the file or folder a harness is pointed at."""

    format: ExportFormat
    out: Path
    main: Path
    questions: int
    images: int
    files: tuple[Path, ...]

    @property
    def bytes(self) -> int:
        return sum(file.stat().st_size for file in self.files)


def prepare_out(out: Path, owned: Sequence[str], *, force: bool, bench: Benchmark) -> None:
    """Checks that `out` can take an export and creates it.

    A non-empty folder is refused unless `force`; then only the entries this export writes (`owned`, names
    relative to `out`) are removed first, so that stale shards or images of an earlier export never mix in.
    Anything else in the folder is left alone.
    """
    resolved = out.resolve()
    if resolved == bench.path.resolve() or bench.path.resolve() in resolved.parents:
        raise ExportError(f"{out}: inside the benchmark folder {bench.path}; choose a folder outside it")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a folder; --out names the folder to write")
    try:
        occupied = out.is_dir() and any(out.iterdir())
    except OSError as error:
        raise ExportError(f"{out}: cannot read the export folder ({error.strerror or error})") from error
    if occupied:
        if not force:
            raise ExportError(
                f"{out}: not empty; choose an empty or new folder, or pass --force to replace this export's "
                f"files ({', '.join(owned)})"
            )
        for name in owned:
            _remove(out / name)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"{out}: cannot create the export folder ({error.strerror or error})") from error
    if not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"{out}: the export folder is not writable")


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError as error:
        raise ExportError(f"{path}: cannot remove the earlier export ({error.strerror or error})") from error


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it when the block succeeds, so that a crashed export
    never leaves a truncated file under the final name."""
    temporary = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ExportError(f"{target}: cannot write ({error.strerror or error})") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text(target: Path, text: str) -> Path:
    with atomic_file(target) as temporary:
        temporary.write_text(text, encoding="utf-8", newline="\n")
    return target


def write_harness_modules(folder: Path) -> tuple[Path, Path]:
    """The stdlib-only modules the exported inspect task and lmms-eval utils load from their own folder:
    spinebench's extraction cascade, generated from the package's code, and the severity-grading metrics."""
    extractor = write_text(folder / STANDALONE_MODULE, standalone_source(__version__))
    grading = resources.files("spinebench.export").joinpath(GRADING_TEMPLATE).read_text(encoding="utf-8")
    return extractor, write_text(folder / GRADING_MODULE, grading)


def question_count(bench: Benchmark, subset: str | None) -> int:
    """Questions to export; raises ExportError for an unknown or empty subset."""
    if subset is not None and subset not in bench.subsets():
        raise ExportError(
            f"{bench.path}: no subset {subset!r} (it has: {', '.join(bench.subsets()) or 'none'})"
        )
    count = bench.count(subset)
    if count == 0:
        raise ExportError(f"{bench.path}: nothing to export (no question in subset {subset!r})")
    return count


def check_written(bench: Benchmark, subset: str | None, expected: int, written: int) -> None:
    if written != expected:
        raise ExportError(
            f"{bench.path}: the manifest counts {expected} questions"
            f"{f' in subset {subset!r}' if subset else ''} but benchmark.parquet holds {written}"
        )


def progress_bar(enabled: bool) -> Progress:
    return Progress(console=Console(stderr=True), transient=True, disable=not enabled)


def tracked(
    questions: Iterable[Question], bar: Progress, task_id: TaskID, images: set[str]
) -> Iterator[Question]:
    """Passes the questions on, advancing the progress bar and noting each distinct image."""
    for question in questions:
        images.add(question.image)
        yield question
        bar.advance(task_id)


def image_path(question: Question) -> str:
    """The question's image path, checked to be a plain content-addressed name before anything is written
    under it (a crafted benchmark must not make an export write outside its folder)."""
    if not _IMAGE_PATH.fullmatch(question.image):
        raise ExportError(
            f"question {question.id}: image path {question.image!r} is not images/xx/<sha256>.ext"
        )
    return question.image
