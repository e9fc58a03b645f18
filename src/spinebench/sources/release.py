"""Imports the published SpineBench release (`evaluation/test.json`, `all/train.json`) as a benchmark.

The release is a list of JSON records `{image, question, task, answers}`. Real files vary, so each record is
read leniently but checked strictly: options may be a field or written into the question text, answers may be
letters or option texts. A bad record is skipped with its file, index and reason; it never stops the import.
Questions of `evaluation/test.json` (SpineBench-Sub) are flagged with subset "sub"; a question found in both
files is stored once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

from rich.console import Console
from rich.progress import Progress

from spinebench.benchmark import BenchmarkWriter, Question
from spinebench.errors import BenchmarkError, ReleaseFormatError
from spinebench.hashing import sha256_bytes, sha256_file
from spinebench.sources._release_images import ImageResolver, ReleaseImage
from spinebench.sources._release_text import (
    Rejected,
    answer_letters,
    option_key,
    options_field,
    split_options_from_text,
)
from spinebench.taxonomy import DISEASES, LETTERS, RELEASE_TASK_NAMES, Task, canonical_answer


class ReleaseFile(NamedTuple):
    """A file of the release: the names it may have (first found wins) and the subsets its questions join."""

    names: tuple[str, ...]
    subsets: tuple[str, ...]


# In processing order: the evaluation set first, so that a question in both files keeps its "sub" flag.
RELEASE_FILES: Final = (
    ReleaseFile(("evaluation/test.json", "evaluation/test.jsonl"), ("sub",)),
    ReleaseFile(("all/train.json", "all/train.jsonl"), ()),
)
REPORT_NAME: Final = "import_report.json"
MAX_QUESTION_CHARS: Final = 20_000  # the released questions are a few hundred characters
SOURCE: Final = "release"


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record that was not imported. `index` is its 0-based position in the file's list of records."""

    file: str
    index: int
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} record {self.index}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did: questions per task (and per task in subset "sub"), merged duplicates, skips."""

    out: Path
    files: tuple[str, ...]
    records: int = 0
    imported: Counter[str] = field(default_factory=Counter)
    imported_sub: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    skipped: list[SkippedRecord] = field(default_factory=list)

    @property
    def questions(self) -> int:
        return sum(self.imported.values())

    def skipped_by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(record.kind for record in self.skipped).items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "imported_from": "SpineBench release",
            "files": list(self.files),
            "records": self.records,
            "questions": self.questions,
            "imported": dict(sorted(self.imported.items())),
            "imported_sub": dict(sorted(self.imported_sub.items())),
            "duplicates_merged": self.duplicates,
            "skipped_by_kind": self.skipped_by_kind(),
            "skipped": [dataclasses.asdict(record) for record in self.skipped],
        }


# ---------------------------------------------------------------- reading the JSON files


def load_records(path: Path, name: str) -> list[Any]:
    """The records of one release file: a JSON list, a {"data": [...]} wrapper, or JSON Lines.

    A JSON Lines line that does not parse (or is not UTF-8) becomes a `Rejected` placeholder so that it is
    reported in place; the other lines are imported.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ReleaseFormatError(f"{path}: cannot read ({error.strerror or error})") from error
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # some exporters write a BOM
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as whole_error:
        # Not splitlines(): it also cuts at U+2028, NEL and the like, which JSON strings may hold raw.
        records: list[Any] = []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line.decode("utf-8")))
            except UnicodeDecodeError as error:
                records.append(Rejected("bad encoding", f"line {number} is not UTF-8 ({error.reason})"))
            except json.JSONDecodeError as error:
                records.append(Rejected("invalid JSON", f"line {number}: not valid JSON ({error.msg})"))
        if not any(not isinstance(record, Rejected) for record in records):
            raise ReleaseFormatError(f"{name}: neither JSON nor JSON Lines ({whole_error})") from whole_error
        return records
    if isinstance(data, dict) and "data" in data:
        data = data["data"]
    elif isinstance(data, dict):
        data = [data]  # a JSON Lines file holding a single record
    if not isinstance(data, list):
        raise ReleaseFormatError(
            f'{name}: expected a list of records (or {{"data": [...]}}), not JSON {type(data).__name__}'
        )
    return data


@dataclass(frozen=True, slots=True)
class _Parsed:
    task: Task
    stem: str
    options: tuple[str, ...]
    answer: tuple[str, ...]
    image: str


def _text_field(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in record:
            return record[name]
    raise Rejected("missing field", f"no {' or '.join(repr(n) for n in names)} field")


def parse_record(record: Any) -> _Parsed:
    """Checks one release record and reads its task, stem, options, answer letters and image path."""
    if not isinstance(record, dict):
        raise Rejected("not an object", f"a record must be a JSON object, not {type(record).__name__}")
    task_name = _text_field(record, "task")
    task = RELEASE_TASK_NAMES.get(task_name.strip()) if isinstance(task_name, str) else None
    if task is None:
        raise Rejected(
            "unknown task", f"unknown task {task_name!r} (expected one of {sorted(RELEASE_TASK_NAMES)})"
        )
    text = _text_field(record, "question")
    if not isinstance(text, str) or not text.strip():
        raise Rejected("missing field", "the question is empty or not a string")
    in_text = split_options_from_text(text)
    raw_options = record.get("options", record.get("choices"))
    if raw_options is not None:
        options = options_field(raw_options)
        stem = text.strip()
        if in_text is not None:
            if [option_key(o) for o in in_text[1]] != [option_key(o) for o in options]:
                raise Rejected(
                    "options mismatch", "the options field and the options in the question text differ"
                )
            stem = in_text[0]
    elif in_text is not None:
        stem, options = in_text
    else:
        raise Rejected("bad options", "no options field and no lettered options in the question text")
    if not 2 <= len(options) <= len(LETTERS):
        raise Rejected("bad options", f"{len(options)} options (a question has 2 to {len(LETTERS)})")
    if len({option_key(option) for option in options}) != len(options):
        raise Rejected("bad options", "two options have the same text")
    if not stem:
        raise Rejected("missing field", "the question has no text besides its options")
    if len(stem) > MAX_QUESTION_CHARS:
        raise Rejected("question too long", f"{len(stem):,} characters (at most {MAX_QUESTION_CHARS:,})")
    for text_field in (stem, *options):
        _check_unicode(text_field)
    answer = answer_letters(_text_field(record, "answers", "answer"), options)
    if task == "SDD" and len(answer) != 1:
        raise Rejected(
            "answer count", f"a diagnosis question has one answer, not {len(answer)} ({', '.join(answer)})"
        )
    image = _text_field(record, "image", "image_path")
    if isinstance(image, list):
        if len(image) != 1:
            raise Rejected("bad image path", f"{len(image)} images given; a question has exactly one")
        image = image[0]
    if not isinstance(image, str) or not image.strip():
        raise Rejected("bad image path", "the image path is empty or not a string")
    _check_unicode(image)
    return _Parsed(task, stem, tuple(options), answer, image.strip())


def _check_unicode(text: str) -> None:
    """Refuses a lone surrogate (JSON may escape half a UTF-16 pair): no UTF-8 file could hold it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise Rejected(
            "bad text", f"the record holds {bad!a}, half of a UTF-16 pair, which is not valid Unicode"
        ) from None


# ---------------------------------------------------------------- disease, modality, id


def _words(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.casefold()).strip()


_DISEASE_BY_ALIAS: Final = {
    _words(alias): disease.name for disease in DISEASES for alias in (disease.name, *disease.synonyms)
}
# Longest alias first, so that at one position "cervical kyphosis" wins over "kyphosis".
_DISEASE_ALIAS: Final = re.compile(
    r"(?<!\w)("
    + "|".join(re.escape(a) for a in sorted(_DISEASE_BY_ALIAS, key=len, reverse=True))
    + r")(?!\w)"
)
_MRI_WORDS: Final = re.compile(r"\b(?:mri|mr|t1w?|t2w?|stir|magnetic resonance|rsna)\b")
_XRAY_WORDS: Final = re.compile(r"\b(?:x ?ray|xray|radiograph\w*|vindr|csxa|buu)\b")


def disease_of(task: Task, stem: str, options: Sequence[str], answer: Sequence[str]) -> str:
    """SDD: the canonical name of the answer; SLL: the first disease named in the stem, or "unspecified"."""
    if task == "SDD":
        text = options[LETTERS.index(answer[0])]
        return canonical_answer(text) or text
    found = _DISEASE_ALIAS.search(_words(stem))
    return _DISEASE_BY_ALIAS[found.group(1)] if found else "unspecified"


def infer_modality(image_path: str, stem: str) -> str:
    """ "mri" or "xray" when the question or image path says so (MRI/T2/MR, X-ray/radiograph, or the source
    dataset's name: RSNA is MRI; VinDr, CSXA, BUU are X-ray), "unknown" when neither or both say so."""
    words = re.sub(r"[^a-z0-9]+", " ", f"{stem} {image_path}".lower())
    mri, xray = bool(_MRI_WORDS.search(words)), bool(_XRAY_WORDS.search(words))
    return "mri" if mri and not xray else "xray" if xray and not mri else "unknown"


def question_id(task: Task, image_sha256: str, stem: str, options: Sequence[str]) -> str:
    key = json.dumps([image_sha256, task, stem, list(options)], ensure_ascii=False)
    return f"{task.lower()}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


# ---------------------------------------------------------------- images


def resolve_image(raw: str, json_dir: Path, root: Path) -> ReleaseImage:
    """The image a record names: by its path (relative to its JSON file's folder, then to the release
    folder), else by its unique file name anywhere in the release or its zip archives (see ImageResolver)."""
    return ImageResolver(root).resolve(raw, json_dir)


# ---------------------------------------------------------------- the import


def release_files(release_dir: Path, root: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    found = []
    for release_file in RELEASE_FILES:
        for name in release_file.names:
            if (root / name).is_file():
                found.append((name, root / name, release_file.subsets))
                break
    if not found:
        expected = " and/or ".join(release_file.names[0] for release_file in RELEASE_FILES)
        raise ReleaseFormatError(f"{release_dir}: no release files; expected {expected} (or .jsonl) in it")
    return found


def release_root(release_dir: Path) -> Path:
    """The folder holding the release files: `release_dir` itself, or in a Hugging Face cache folder
    (`datasets--<org>--<name>/`) the snapshot that refs/main names, or its only snapshot."""
    if not release_dir.is_dir():
        raise ReleaseFormatError(f"{release_dir}: no such release folder")
    root = release_dir.resolve()
    has_files = any((root / name).is_file() for release_file in RELEASE_FILES for name in release_file.names)
    snapshots = root / "snapshots"
    if has_files or not snapshots.is_dir():
        return root
    main = root / "refs" / "main"
    revision = main.read_text(encoding="utf-8").strip() if main.is_file() else ""
    if revision and (snapshots / revision).is_dir():
        return snapshots / revision
    found = sorted(path for path in snapshots.iterdir() if path.is_dir())
    if len(found) != 1:
        raise ReleaseFormatError(
            f"{release_dir}: a Hugging Face cache folder with {len(found)} snapshots and no refs/main; "
            "give the snapshot folder itself (snapshots/<revision>)"
        )
    return found[0]


def refuse_out_inside(out: Path, folder: Path, what: str) -> None:
    """Raises ReleaseFormatError when `out` is `folder` or lies inside it."""
    if out.resolve().is_relative_to(folder.resolve()):
        raise ReleaseFormatError(
            f"{out}: the new benchmark would be written inside the {what} {folder}; "
            "choose an --out outside it"
        )


def import_release(release_dir: Path, out: Path, *, progress: bool = False) -> ImportReport:
    """Imports a SpineBench release folder into a new benchmark directory `out`.

    Bad records are skipped and listed in the report (also written to `out/import_report.json`); raises
    ReleaseFormatError when no release file exists, one cannot be read, or no record could be imported.
    The benchmark is written into a hidden folder beside `out` and moved into place at the end (see
    BenchmarkWriter), so a failed or interrupted import never leaves a partial benchmark behind.
    """
    root = release_root(release_dir)
    refuse_out_inside(out, release_dir, "release folder")
    files = release_files(release_dir, root)
    loaded = [(name, path, subsets, load_records(path, name)) for name, path, subsets in files]
    report = ImportReport(out=out, files=tuple(name for name, *_ in files))
    report.records = sum(len(records) for *_, records in loaded)
    writer = BenchmarkWriter(
        out,
        name="spinebench-release",
        build={
            "imported_from": "SpineBench release",
            "files": list(report.files),
            "sha256": {name: sha256_file(path) for name, path, _ in files},
        },
    )
    with writer:  # an error or Ctrl-C on the way discards everything written
        importer = _Importer(writer, report, ImageResolver(root))
        with Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar:
            task_id = bar.add_task("Importing release", total=report.records)
            for name, path, subsets, records in loaded:
                for index, record in enumerate(records):
                    importer.add(name, path.parent, index, record, subsets)
                    bar.advance(task_id)
        if report.questions:
            writer.close()
        else:
            writer.abort()
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_NAME).write_bytes(_report_bytes(report))  # with nothing imported, the report alone
    if report.questions == 0:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in report.skipped_by_kind().items()) or "no records"
        raise ReleaseFormatError(
            f"{release_dir}: nothing could be imported ({kinds}); "
            f"every skipped record is listed in {out / REPORT_NAME}"
        )
    return report


def _report_bytes(report: ImportReport) -> bytes:
    return (json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class _Importer:
    """Turns records into questions; remembers which ids were stored and what each image resolved to."""

    writer: BenchmarkWriter
    report: ImportReport
    resolver: ImageResolver
    _seen: dict[str, tuple[str, int, tuple[str, ...]]] = field(default_factory=dict)
    _images: dict[ReleaseImage, tuple[str, str] | Rejected] = field(default_factory=dict)

    def add(self, file: str, json_dir: Path, index: int, record: Any, subsets: tuple[str, ...]) -> None:
        try:
            if isinstance(record, Rejected):  # a JSON Lines line that did not parse
                raise Rejected(record.kind, record.reason)
            self._add(file, json_dir, index, record, subsets)
        except Rejected as rejected:
            self.report.skipped.append(SkippedRecord(file, index, rejected.kind, rejected.reason))

    def _add(self, file: str, json_dir: Path, index: int, record: Any, subsets: tuple[str, ...]) -> None:
        parsed = parse_record(record)
        found = self.resolver.resolve(parsed.image, json_dir)
        image_sha, image = self._image(found, parsed.image)
        qid = question_id(parsed.task, image_sha, parsed.stem, parsed.options)
        if qid in self._seen:
            first_file, first_index, first_answer = self._seen[qid]
            if first_answer != parsed.answer:
                raise Rejected(
                    "conflicting duplicate",
                    f"same question as {first_file} record {first_index} but answer "
                    f"{', '.join(parsed.answer)} instead of {', '.join(first_answer)}",
                )
            self.report.duplicates += 1
            return
        question = Question(
            id=qid,
            task=parsed.task,
            image=image,
            question=parsed.stem,
            options=parsed.options,
            answer=parsed.answer,
            disease=disease_of(parsed.task, parsed.stem, parsed.options, parsed.answer),
            source=SOURCE,
            modality=infer_modality(parsed.image, parsed.stem),
            subsets=subsets,
        )
        self.writer.add_question(question)
        self._seen[qid] = (file, index, parsed.answer)
        self.report.imported[parsed.task] += 1
        if "sub" in subsets:
            self.report.imported_sub[parsed.task] += 1

    def _image(self, found: ReleaseImage, raw: str) -> tuple[str, str]:
        """(sha256, benchmark-relative path) of an image, stored on first use; each file is read once."""
        cached = self._images.get(found)
        if cached is None:
            try:
                data = found.read_bytes()
                cached = (sha256_bytes(data), self.writer.add_image(data, what=f"image {raw!r}"))
            except Rejected as rejected:
                cached = Rejected(rejected.kind, f"image {raw!r}: {rejected.reason}")
            except OSError as error:
                cached = Rejected(
                    "unreadable image", f"image {raw!r} cannot be read ({error.strerror or error})"
                )
            except BenchmarkError as error:
                cached = Rejected("unreadable image", str(error))
            self._images[found] = cached
        if isinstance(cached, Rejected):
            raise Rejected(cached.kind, cached.reason)
        return cached
