"""The benchmark directory: `benchmark.parquet` + content-addressed `images/` + `manifest.json`.

The manifest holds the sha256 and size of every file, so a benchmark can be shared and checked. Opening a
benchmark checks the parquet and manifest hashes and that every image is present with its recorded size;
image contents are checked as they are read (their file name is their sha256), so an altered image never
reaches a model. `verify="full"` hashes every image up front instead; `verify="auto"` does so for a benchmark
of fewer than 5,000 images (seconds of hashing), so that a tampered image is found before the first request.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import weakref
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow.parquet as pq
from PIL import Image, UnidentifiedImageError

from spinebench import __version__
from spinebench.benchmark._files import FileList
from spinebench.benchmark._question import (
    QUESTION_SCHEMA,
    Question,
    questions_from_batch,
    questions_to_table,
    readable_schema,
)
from spinebench.errors import BenchmarkError
from spinebench.hashing import sha256_bytes, sha256_file

FORMAT: Final = "spinebench.benchmark"
FORMAT_VERSION: Final = 1
PARQUET_NAME: Final = "benchmark.parquet"
MANIFEST_NAME: Final = "manifest.json"
IMAGES_DIR: Final = "images"
IMAGE_EXTENSIONS: Final = {"PNG": ".png", "JPEG": ".jpg"}
_ROW_GROUP: Final = 8192
# Every pyarrow writer setting that shapes the file's bytes, pinned to today's defaults, so that a pyarrow
# upgrade changing a default does not change a rebuild. The footer still names the pyarrow version, and
# another zstd may compress differently: across library versions the rule is identical rows and image hashes.
PARQUET_WRITER: Final[dict[str, Any]] = {
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "compression": "zstd",
    "compression_level": 1,
    "write_statistics": False,
    "data_page_size": 1024 * 1024,
    "write_page_index": False,
    "store_schema": True,
}
_READ_BATCH: Final = 1024  # small batches keep a reader's memory flat

# "auto": every image hashed up front when there are few enough to take seconds, else checked as read.
Verify = Literal["auto", "quick", "full"]
FULL_VERIFY_BELOW_IMAGES: Final = 5000


def image_format(data: bytes, *, what: str) -> str:
    """The PIL format name of encoded image bytes, after a full decode; raises BenchmarkError if corrupt."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BenchmarkError(f"{what}: not a readable image ({error})") from error
    if fmt not in IMAGE_EXTENSIONS:
        raise BenchmarkError(f"{what}: image format {fmt or 'unknown'} is not PNG or JPEG")
    return fmt


def refuse_existing_benchmark(out: Path) -> None:
    """Raises BenchmarkError when `out` already holds a benchmark: a build never writes over one.

    Callers with a long stage before the writer (cataloguing the sources) check this first.
    """
    if (out / MANIFEST_NAME).exists() or (out / PARQUET_NAME).exists():
        raise BenchmarkError(f"{out}: already holds a benchmark; choose an empty folder")


@dataclass
class BenchmarkWriter:
    """Writes a benchmark directory. Add images and questions, then `close()` writes parquet and manifest."""

    out: Path
    name: str
    seed: int | None = None
    build: dict[str, Any] = field(default_factory=dict)
    _files: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    _extra: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    _pending: list[Question] = field(default_factory=list, init=False)
    _ids: set[str] = field(default_factory=set, init=False)
    _writer: pq.ParquetWriter | None = field(default=None, init=False)
    _counts: dict[str, Counter[str]] = field(default_factory=dict, init=False)
    _dir: Path = field(default=Path(), init=False)  # where the files are written until close()
    _cleanup: weakref.finalize[Any, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        refuse_existing_benchmark(self.out)
        # Everything is written into a hidden folder beside `out` and moved into place by close(): a build
        # that fails or is stopped never leaves a partial benchmark (abort() removes the folder).
        self._dir = self.out.with_name(f".{self.out.name}.partial-{os.getpid()}")
        try:
            if self.out.exists() and not self.out.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "not a folder")
            shutil.rmtree(self._dir, ignore_errors=True)
            (self._dir / IMAGES_DIR).mkdir(parents=True)
        except OSError as error:
            raise BenchmarkError(f"{self.out}: cannot create the benchmark folder ({error})") from error
        # A writer dropped without close() (an exception in its caller) removes its folder when collected,
        # or at the latest when the process exits.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        self._counts = {key: Counter() for key in ("task", "disease", "source", "modality", "subset")}

    def add_image(self, data: bytes, *, what: str = "image") -> str:
        """Stores encoded PNG/JPEG bytes content-addressed; returns the path relative to the benchmark."""
        digest = sha256_bytes(data)
        extension = IMAGE_EXTENSIONS[image_format(data, what=what)]
        relative = f"{IMAGES_DIR}/{digest[:2]}/{digest}{extension}"
        if relative not in self._files:
            target = self._dir / relative
            target.parent.mkdir(exist_ok=True)
            if not target.exists():
                _write_atomic(target, data)
            self._files[relative] = {"sha256": digest, "bytes": len(data)}
        return relative

    def add_file(self, name: str, data: bytes) -> str:
        """Stores an extra top-level file (e.g. library.npz, CARD.md), hashed in the manifest."""
        reserved = {"", ".", "..", PARQUET_NAME, MANIFEST_NAME, IMAGES_DIR}
        if "/" in name or "\\" in name or name in reserved:
            raise BenchmarkError(f"{self.out}: {name!r} is not a valid extra file name")
        if name in self._extra:
            raise BenchmarkError(f"{self.out}: file {name!r} is added twice")
        _write_atomic(self._dir / name, data)
        self._extra[name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
        return name

    def add_question(self, question: Question) -> None:
        if question.id in self._ids:
            raise BenchmarkError(f"question id {question.id!r} is used twice")
        if question.image not in self._files:
            raise BenchmarkError(
                f"question {question.id}: image {question.image} was not added to the benchmark"
            )
        self._ids.add(question.id)
        self._pending.append(question)
        for key, value in (
            ("task", question.task),
            ("disease", f"{question.task}/{question.disease}"),
            ("source", question.source),
            ("modality", question.modality),
        ):
            self._counts[key][value] += 1
        for subset in question.subsets:
            self._counts["subset"][f"{subset}/{question.task}"] += 1
        if len(self._pending) >= _ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._dir / PARQUET_NAME, QUESTION_SCHEMA, **PARQUET_WRITER)
        if self._pending:
            self._writer.write_table(questions_to_table(self._pending), row_group_size=_ROW_GROUP)
            self._pending = []

    def close(self) -> dict[str, Any]:
        """Writes the parquet footer and the manifest; returns the manifest."""
        if not self._ids:
            raise BenchmarkError(f"{self.out}: no question was added; a benchmark needs at least one")
        self._flush()
        assert self._writer is not None
        self._writer.close()
        files = {
            PARQUET_NAME: {
                "sha256": sha256_file(self._dir / PARQUET_NAME),
                "bytes": (self._dir / PARQUET_NAME).stat().st_size,
            }
        }
        files.update(sorted(self._extra.items()))
        files.update(sorted(self._files.items()))
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "created_by": f"spinebench {__version__}",
            "seed": self.seed,
            "build": self.build,
            "counts": {
                "questions": len(self._ids),
                "images": len(self._files),
                **{f"by_{key}": dict(sorted(counter.items())) for key, counter in self._counts.items()},
            },
            "files": files,
        }
        _write_atomic(self._dir / MANIFEST_NAME, (json.dumps(manifest, indent=1) + "\n").encode())
        self._cleanup.detach()
        _move_into(self._dir, self.out)
        return manifest

    def abort(self) -> None:
        """Discards what was written: nothing of this benchmark is left, at `out` or beside it."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._cleanup()

    def __enter__(self) -> BenchmarkWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abort()


def _move_into(staging: Path, out: Path) -> None:
    """Puts a finished benchmark at `out`: one rename, or merged into an existing folder with the manifest
    last, so that `out` reads as a benchmark only once every other file is in place."""
    if not out.exists():
        os.replace(staging, out)
        return
    for entry in sorted(staging.iterdir(), key=lambda path: path.name == MANIFEST_NAME):
        target = out / entry.name
        if entry.is_dir() and target.is_dir():  # images/ left by an earlier, failed build: merge
            _move_into(entry, target)
        else:
            os.replace(entry, target)
    staging.rmdir()


def _verify_files(path: Path, entries: dict[str, Any], *, full: bool) -> None:
    """Checks every listed file's size (and sha256: all when `full`, else all but the images, which are
    checked as they are read); raises BenchmarkError naming the first missing or altered one."""
    for relative, entry in entries.items():
        file = path / relative
        try:
            size = file.stat().st_size
        except FileNotFoundError as error:
            raise BenchmarkError(f"{file}: missing (listed in {MANIFEST_NAME})") from error
        is_image = relative.startswith(IMAGES_DIR + "/")
        if size != int(entry["bytes"]) or ((full or not is_image) and sha256_file(file) != entry["sha256"]):
            raise BenchmarkError(f"{file}: altered (its sha256 or size differs from {MANIFEST_NAME})")


def _write_atomic(target: Path, data: bytes) -> None:
    temporary = target.with_name(target.name + ".partial")
    temporary.write_bytes(data)
    os.replace(temporary, target)


class Benchmark:
    """A benchmark directory opened for reading. Questions stream from parquet in row-group batches.

    `manifest` is manifest.json without its file list, which is held apart and small (`has_file`,
    `read_file`, `read_image` check against it).
    """

    def __init__(self, path: Path, manifest: dict[str, Any], manifest_sha256: str) -> None:
        self.path = path
        self._root = str(path)
        self.manifest_sha256 = manifest_sha256
        # The file list is held compactly (benchmark/_files.py), not as the manifest's parsed JSON objects.
        self.manifest = {key: value for key, value in manifest.items() if key != "files"}
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise BenchmarkError(f"{path / MANIFEST_NAME}: no file list")
        self._files = FileList(files, path / MANIFEST_NAME, IMAGES_DIR)

    @classmethod
    def open(cls, path: Path | str, *, verify: Verify = "quick") -> Benchmark:
        path = Path(path)
        if not path.is_dir():
            raise BenchmarkError(f"{path}: no such benchmark folder")
        manifest_path = path / MANIFEST_NAME
        try:
            raw = manifest_path.read_bytes()
            manifest = json.loads(raw)
        except FileNotFoundError as error:
            raise BenchmarkError(f"{manifest_path}: missing; {path} is not a benchmark directory") from error
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise BenchmarkError(f"{manifest_path}: not valid JSON ({error})") from error
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BenchmarkError(f"{manifest_path}: not a SpineBench manifest (format is not {FORMAT!r})")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise BenchmarkError(
                f"{manifest_path}: format version {manifest.get('format_version')} is not supported "
                f"(this SpineBench reads version {FORMAT_VERSION})"
            )
        benchmark = cls(path, manifest, sha256_bytes(raw))
        full = verify == "full" or (verify == "auto" and benchmark._files.images < FULL_VERIFY_BELOW_IMAGES)
        _verify_files(path, manifest["files"], full=full)
        return benchmark

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.path.name))

    def __len__(self) -> int:
        return int(self.manifest["counts"]["questions"])

    def count(self, subset: str | None = None) -> int:
        if subset is None:
            return len(self)
        by_subset: dict[str, int] = self.manifest["counts"]["by_subset"]
        return sum(n for key, n in by_subset.items() if key.split("/")[0] == subset)

    def subsets(self) -> list[str]:
        return sorted({key.split("/")[0] for key in self.manifest["counts"]["by_subset"]})

    def iter_questions(self, subset: str | None = None) -> Iterator[Question]:
        if subset is not None and subset not in self.subsets():
            raise BenchmarkError(
                f"{self.path}: no subset {subset!r} (it has: {', '.join(self.subsets()) or 'none'})"
            )
        file = self.path / PARQUET_NAME
        parquet = pq.ParquetFile(file)
        if not readable_schema(parquet.schema_arrow):
            raise BenchmarkError(f"{file}: columns differ from the SpineBench question schema")
        for batch_number, batch in enumerate(parquet.iter_batches(batch_size=_READ_BATCH)):
            try:
                questions = questions_from_batch(batch)
            except ValueError as error:
                raise BenchmarkError(f"{file}: rows {batch_number * _READ_BATCH}+: {error}") from error
            for question in questions:
                if subset is None or subset in question.subsets:
                    yield question

    def read_file(self, name: str) -> bytes:
        """An extra file of the benchmark (see BenchmarkWriter.add_file), checked against the manifest."""
        expected = self._files.sha256(name) if self.has_file(name) else None
        if expected is None:
            raise BenchmarkError(f"{self.path / name}: not an extra file listed in {MANIFEST_NAME}")
        return self._read_checked(name, f"listed in {MANIFEST_NAME}", expected)

    def has_file(self, name: str) -> bool:
        return name in self._files and not name.startswith(IMAGES_DIR + "/") and name != PARQUET_NAME

    def read_image(self, question: Question) -> bytes:
        """The image bytes of a question, checked against the manifest."""
        expected = self._files.sha256(question.image)
        if expected is None:
            raise BenchmarkError(f"question {question.id}: image {question.image} is not in {MANIFEST_NAME}")
        return self._read_checked(question.image, f"image of question {question.id}", expected)

    def _read_checked(self, relative: str, what: str, expected: bytes) -> bytes:
        """A listed file's bytes; an error naming the file (and `what` it is) when missing or, against the
        `expected` sha256, altered."""
        try:
            # A string path: a pathlib join per image costs more than reading a 50 KB image from the cache.
            with open(os.path.join(self._root, relative), "rb") as handle:
                data = handle.read()
        except FileNotFoundError as error:
            raise BenchmarkError(f"{self.path / relative}: missing ({what})") from error
        if hashlib.sha256(data).digest() != expected:
            raise BenchmarkError(
                f"{self.path / relative}: altered ({what}; its sha256 differs from {MANIFEST_NAME})"
            )
        return data
