"""Source folders -> `catalog.parquet` + standardised images + `build_report.json`.

Readers only read labels; decoding and standardising images (the slow part) runs on all cores. Each
conversion is remembered in `conversions.jsonl` under the record's pseudonym, the file's size and mtime, the
imaging options and the versions of spinebench and the decoders, so a rerun skips images already converted
and an upgrade converts them again. Rows are sorted before writing, so the same sources and key give a
byte-identical catalogue whatever the number of workers.

The build report names records safely: every location is relative to its dataset root (no folder above it),
and every native identifier a reader flagged (RSNA study and series ids, VinDr image ids) is replaced by its
keyed pseudonym, the same one the catalogue's `study`/`record` columns carry. Whether the sources were
synthetic is stored in the catalogue's metadata, so a benchmark built from it says so.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final, Protocol

import pyarrow.parquet as pq
from rich.progress import Progress

from spinebench.benchmark import PARQUET_WRITER
from spinebench.catalog._entry import CatalogEntry, entries_from_table, entries_to_table
from spinebench.catalog._grades import scaled_grades, source_size
from spinebench.errors import SpineBenchError
from spinebench.hashing import sha256_bytes
from spinebench.imaging import ImageDecodeError, ImagingOptions, encode_rgb_png, standardise_display
from spinebench.sources import SkippedRecord, SourceImage, pseudonym

CATALOG_NAME: Final = "catalog.parquet"
REPORT_NAME: Final = "build_report.json"
CONVERSIONS_NAME: Final = "conversions.jsonl"
IMAGES_DIR: Final = "images"
SYNTHETIC_KEY: Final = b"spinebench.synthetic"
# Packages whose upgrade can change a standardised image: a conversion made with other versions is redone.
DECODERS: Final = (
    "spinebench",
    "numpy",
    "pillow",
    "pydicom",
    "pylibjpeg",
    "pylibjpeg-libjpeg",
    "pylibjpeg-openjpeg",
    "pylibjpeg-rle",
)

Reader = Callable[[Path], Iterable[SourceImage | SkippedRecord]]


class CatalogError(SpineBenchError):
    """A catalogue cannot be built or read."""


@dataclass
class CatalogReport:
    images: int = 0
    converted: int = 0
    reused: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_disease: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[SkippedRecord] = field(default_factory=list)
    graded_only: int = 0  # images kept for severity grading alone (not counted in by_disease)

    def to_json(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "converted": self.converted,
            "reused": self.reused,
            "by_source": dict(sorted(self.by_source.items())),
            "by_disease": {s: dict(sorted(d.items())) for s, d in sorted(self.by_disease.items())},
            "graded_only": self.graded_only,
            # private_ids: already replaced in the text by their pseudonyms, so not written
            "skipped": [
                {"source": s.source, "location": s.location, "reason": s.reason} for s in self.skipped
            ],
        }


@dataclass(frozen=True, slots=True)
class _Converted:
    image_id: str
    image: str
    width: int
    height: int
    # The source image's size, read only for images with marked grades (to scale their points).
    source_width: int | None = None
    source_height: int | None = None


@dataclass(frozen=True, slots=True)
class StandardisedPNG:
    """One source image standardised and encoded: the catalogue's PNG bytes and its size (and the source
    image's size, read only for images with marked grades, to scale their points)."""

    data: bytes
    width: int
    height: int
    source_width: int | None = None
    source_height: int | None = None


class ConversionExecutor(Protocol):
    """Standardises images somewhere other than this machine's process pool (e.g. across a Ray cluster).

    It yields, in any order, the index of each image in `items` with its PNG or the reason it failed; the
    catalogue stores the PNGs itself, so only this process writes into the catalogue folder.
    """

    def convert(
        self, items: Sequence[SourceImage], imaging: ImagingOptions
    ) -> Iterator[tuple[int, StandardisedPNG | str]]: ...


def standardised_png(item: SourceImage, imaging: ImagingOptions) -> StandardisedPNG:
    """Decode and standardise one source image into the catalogue's PNG (ImageDecodeError if it cannot)."""
    image = standardise_display(item.path, frame=item.frame, options=imaging)
    source = source_size(item.path) if _has_points(item) else None
    # RGB, as `standardise` gives, without expanding a grey image to three channels first.
    png = encode_rgb_png(image)
    if source is None:
        return StandardisedPNG(png, image.width, image.height)
    return StandardisedPNG(png, image.width, image.height, *source)


def _has_points(item: SourceImage) -> bool:
    return any(grade.x is not None for grade in item.grades)


def standardised_png_or_reason(item: SourceImage, imaging: ImagingOptions) -> StandardisedPNG | str:
    try:
        return standardised_png(item, imaging)
    except ImageDecodeError as error:
        return str(error)
    except MemoryError:
        return f"{item.path}: too large to decode in the memory available"


def _store(png: StandardisedPNG, out: Path) -> _Converted:
    digest = sha256_bytes(png.data)
    relative = f"{IMAGES_DIR}/{digest[:2]}/{digest}.png"
    target = out / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        partial.write_bytes(png.data)
        os.replace(partial, target)
    return _Converted(digest, relative, png.width, png.height, png.source_width, png.source_height)


def _convert(item: SourceImage, out: Path, imaging: ImagingOptions) -> _Converted:
    """Runs in a worker process: decode, standardise, store content-addressed."""
    return _store(standardised_png(item, imaging), out)


def _conversion_key(item: SourceImage, record: str, imaging: ImagingOptions) -> str:
    stat = item.path.stat()
    options = json.dumps(asdict(imaging), sort_keys=True)
    return f"{record}:{item.frame}:{stat.st_size}:{stat.st_mtime_ns}:{options}:{decoder_versions()}"


@cache
def decoder_versions() -> str:
    """`name=version,...` of the packages in DECODERS (part of every conversion cache key)."""
    found = []
    for package in DECODERS:
        try:
            found.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}=none")
    return ",".join(found)


class _Scrubber:
    """Rewrites report text so it names no folder above a dataset root and no native identifier."""

    def __init__(self, key: bytes, roots: Mapping[str, Path]) -> None:
        self.key = key
        self.roots = roots

    def record(self, skipped: SkippedRecord, identifiers: tuple[str, ...] = ()) -> SkippedRecord:
        ids = tuple(dict.fromkeys((*skipped.private_ids, *identifiers)))
        return SkippedRecord(
            skipped.source,
            self.text(skipped.source, skipped.location, ids),
            self.text(skipped.source, skipped.reason, ids),
        )

    def image(self, item: SourceImage, record: str, reason: str) -> SkippedRecord:
        """A record that failed in the catalogue step: its path relative to the root, and its pseudonym."""
        location = f"{self._relative(item.source, item.path)} (record {record})"
        return self.record(SkippedRecord(item.source, location, reason), item.identifiers())

    def text(self, source: str, text: str, ids: tuple[str, ...]) -> str:
        root = self.roots.get(source)
        if root is not None:
            for form in {str(root), str(root.resolve())}:
                text = text.replace(form + os.sep, "").replace(form, ".")
        for value in sorted(ids, key=len, reverse=True):
            pattern = rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"
            text = re.sub(pattern, pseudonym(self.key, source, value), text)
        return text

    def _relative(self, source: str, path: Path) -> str:
        root = self.roots.get(source)
        for base in (root, root.resolve()) if root is not None else ():
            try:
                return path.relative_to(base).as_posix()
            except ValueError:
                continue
        return path.name


def build_catalog(
    sources: Mapping[str, tuple[Reader, Path]],
    out: Path,
    *,
    key: bytes,
    imaging: ImagingOptions | None = None,
    workers: int | None = None,
    progress: bool = False,
    synthetic: bool | None = None,
    executor: ConversionExecutor | None = None,
) -> CatalogReport:
    """Reads each source with its reader, converts every image, writes the catalogue into `out`.

    `synthetic` (whether the sources are `spinebench synth` phantoms; None: unknown) is kept in the
    catalogue for the benchmark card. `executor` standardises elsewhere (a cluster) instead of `workers`
    local processes; the catalogue is the same either way.
    """
    imaging = imaging or ImagingOptions()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file of that name, or a parent that is a file or not writable
        raise CatalogError(f"{out}: cannot be used as the catalogue folder ({error.strerror})") from error
    report = CatalogReport()
    items: list[tuple[str, SourceImage]] = []
    roots: dict[str, Path] = {}
    scrub = _Scrubber(key, roots)
    for _name, (reader, root) in sorted(sources.items()):
        for found in reader(root):
            roots.setdefault(found.source, root)
            if isinstance(found, SkippedRecord):
                report.skipped.append(scrub.record(found))
            else:
                items.append((pseudonym(key, found.source, found.native_id), found))
    items.sort(key=lambda pair: (pair[1].source, pair[0]))

    known = _load_conversions(out / CONVERSIONS_NAME)
    todo: list[tuple[str, str, SourceImage]] = []
    converted: dict[str, _Converted] = {}
    for record, item in items:
        try:
            conversion_key = _conversion_key(item, record, imaging)
        except OSError as error:
            report.skipped.append(scrub.image(item, record, f"cannot read ({error.strerror})"))
            continue
        previous = known.get(conversion_key)
        # A conversion logged before grades were catalogued lacks the source size their points need.
        unsized = previous is not None and previous.source_width is None and _has_points(item)
        if previous is not None and (out / previous.image).exists() and not unsized:
            converted[record] = previous
            report.reused += 1
        else:
            todo.append((record, conversion_key, item))

    with (out / CONVERSIONS_NAME).open("a", encoding="utf-8") as log:
        if executor is not None:
            conversions = _run_elsewhere(todo, out, imaging, executor, progress)
        else:
            conversions = _run_conversions(todo, out, imaging, workers, progress)
        for record, conversion_key, item, result in conversions:
            if isinstance(result, str):
                report.skipped.append(scrub.image(item, record, result))
                continue
            converted[record] = result
            report.converted += 1
            log.write(json.dumps({"key": conversion_key, **asdict(result)}) + "\n")

    entries: list[CatalogEntry] = []
    seen: dict[str, str] = {}
    for record, item in items:
        done = converted.get(record)
        if done is None:
            continue
        if done.image_id in seen:
            report.skipped.append(scrub.image(item, record, f"same image as record {seen[done.image_id]}"))
            continue
        seen[done.image_id] = record
        entries.append(
            CatalogEntry(
                image_id=done.image_id,
                image=done.image,
                source=item.source,
                modality=item.modality,
                view=item.view,
                findings=item.findings,
                record=record,
                patient=pseudonym(key, item.source, item.patient_id) if item.patient_id else None,
                study=pseudonym(key, item.source, item.study_id) if item.study_id else None,
                width=done.width,
                height=done.height,
                grades=scaled_grades(item.grades, done),
                graded_only=item.graded_only,
            )
        )
    table = entries_to_table(entries)
    if synthetic is not None:
        table = table.replace_schema_metadata({SYNTHETIC_KEY: b"true" if synthetic else b"false"})
    # Written beside and renamed: a build stopped here leaves the old catalogue or none, never half of one.
    # Statistics stay on in the catalogue (it is read whole, never shipped); the rest is pinned as for the
    # benchmark, so a rebuild's bytes do not follow a pyarrow default.
    partial = out / f"{CATALOG_NAME}.partial"
    pq.write_table(table, partial, **{**PARQUET_WRITER, "write_statistics": True})
    os.replace(partial, out / CATALOG_NAME)
    report.images = len(entries)
    for entry in entries:
        report.by_source[entry.source] = report.by_source.get(entry.source, 0) + 1
        if entry.graded_only:
            report.graded_only += 1
            continue
        diseases = report.by_disease.setdefault(entry.source, {})
        for disease in entry.diseases:
            diseases[disease] = diseases.get(disease, 0) + 1
    report.skipped.sort(key=lambda s: (s.source, s.location, s.reason))
    (out / REPORT_NAME).write_text(json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n")
    return report


def _run_conversions(
    todo: list[tuple[str, str, SourceImage]],
    out: Path,
    imaging: ImagingOptions,
    workers: int | None,
    progress: bool,
) -> Iterator[tuple[str, str, SourceImage, _Converted | str]]:
    workers = workers or os.cpu_count() or 1
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("standardising images", total=len(todo))
        if workers == 1 or len(todo) < 2:
            for record, key, item in todo:
                yield record, key, item, _convert_or_reason(item, out, imaging)
                bar.advance(task)
            return
        limit = worker_memory_limit(workers)
        with ProcessPoolExecutor(max_workers=workers, initializer=_limit_memory, initargs=(limit,)) as pool:
            futures = {
                pool.submit(_convert, item, out, imaging): (record, key, item) for record, key, item in todo
            }
            for future in as_completed(futures):
                record, key, item = futures[future]
                try:
                    result: _Converted | str = future.result()
                except ImageDecodeError as error:
                    result = str(error)
                except MemoryError:
                    result = f"{item.path}: too large to decode within {limit >> 20} MiB more per worker"
                yield record, key, item, result
                bar.advance(task)


def _run_elsewhere(
    todo: list[tuple[str, str, SourceImage]],
    out: Path,
    imaging: ImagingOptions,
    executor: ConversionExecutor,
    progress: bool,
) -> Iterator[tuple[str, str, SourceImage, _Converted | str]]:
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("standardising images", total=len(todo))
        for index, result in executor.convert([item for _, _, item in todo], imaging):
            record, key, item = todo[index]
            yield record, key, item, result if isinstance(result, str) else _store(result, out)
            bar.advance(task)


def _convert_or_reason(item: SourceImage, out: Path, imaging: ImagingOptions) -> _Converted | str:
    try:
        return _convert(item, out, imaging)
    except ImageDecodeError as error:
        return str(error)
    except MemoryError:
        return f"{item.path}: too large to decode in the memory available"


def worker_memory_limit(workers: int) -> int:
    """Bytes each conversion worker may allocate beyond what it holds at start: 80% of the machine's memory
    shared out, and at least 2 GiB (a 4096 x 4096 16-bit frame takes about 1 GiB of working arrays)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX
        total = 16 << 30
    return max(2 << 30, int(total * 0.8) // max(workers, 1))


def _limit_memory(allowance: int) -> None:
    """Worker start: cap the address space, so that an image too large to decode raises MemoryError in its
    worker (and is skipped and reported) instead of driving the machine into swap or the OOM killer.

    The cap is what the worker already maps plus `allowance`: a forked worker inherits its parent's mappings
    (tens of GB of address space once CUDA is loaded), which a fixed cap would refuse outright.
    """
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:  # Linux; elsewhere, no cap
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = in_use + allowance
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # no such limit or no /proc here: decode unbounded
        return


def _load_conversions(file: Path) -> dict[str, _Converted]:
    known: dict[str, _Converted] = {}
    if not file.exists():
        return known
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            key = entry.pop("key")
            known[key] = _Converted(**entry)
        except (ValueError, KeyError, TypeError):
            continue  # a torn line from an interrupted build: that image is converted again
    return known


def read_catalog(path: Path) -> list[CatalogEntry]:
    file = path / CATALOG_NAME
    if not file.exists():
        raise CatalogError(f"{file}: missing; build it with `spinebench catalog`")
    return entries_from_table(pq.read_table(file))


def catalog_synthetic(path: Path) -> bool | None:
    """Whether the catalogue in `path` was built from synthetic sources (None: not recorded)."""
    file = path / CATALOG_NAME
    try:
        metadata = pq.read_schema(file).metadata or {}
    except (OSError, ValueError) as error:
        raise CatalogError(f"{file}: cannot be read ({error})") from error
    value = metadata.get(SYNTHETIC_KEY)
    return None if value is None else value == b"true"


def count_diseases(entries: Iterable[CatalogEntry]) -> Counter[str]:
    """Images per disease (Healthy included) over the entries the diagnosis tasks may use."""
    return Counter(disease for entry in entries if not entry.graded_only for disease in entry.diseases)
