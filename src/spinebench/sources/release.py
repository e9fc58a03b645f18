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

from spinebench.benchmark import BenchmarkWriter, Question, sha256_bytes, sha256_file
from spinebench.errors import BenchmarkError, ReleaseFormatError
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


class _Rejected(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


# ---------------------------------------------------------------- reading the JSON files


def _load_records(path: Path, name: str) -> list[Any]:
    """The records of one release file: a JSON list, a {"data": [...]} wrapper, or JSON Lines.

    A JSON Lines line that does not parse becomes a `_Rejected` placeholder so that it is reported in place.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # some exporters write a BOM
    except (OSError, UnicodeDecodeError) as error:
        raise ReleaseFormatError(f"{path}: cannot read ({error})") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as whole_error:
        lines = [line for line in text.splitlines() if line.strip()]
        records: list[Any] = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                records.append(_Rejected("invalid JSON", f"not valid JSON ({error.msg})"))
        if not any(not isinstance(record, _Rejected) for record in records):
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


# ---------------------------------------------------------------- options and answers

_OPTION_LINE = re.compile(r"^\s*(?:\(([A-J])\)|([A-J])\s*[.):])\s*(\S.*?)\s*$")
_HEADER_LINE = re.compile(r"^\s*(?:answer\s+)?(?:options|choices)\s*:?\s*$", re.IGNORECASE)
_LABEL = re.compile(r"\b(?:answer\s+)?(?:options|choices)\s*:\s*", re.IGNORECASE)
_TRAILING_LABEL = re.compile(r"\b(?:answer\s+)?(?:options|choices)\s*:?[ \t]*$", re.IGNORECASE)
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_SPACES = re.compile(r"\s+")


def _marker(letter: str) -> str:
    """An inline option marker "(A)", "A.", "A)" or "A:", at the start or after a space, comma, ; or [."""
    return rf"(?:^|(?<=[\s,;\[]))(?:\({letter}\)|{letter}\s*[.):])"


def _inline_options(body: str) -> list[str] | None:
    """Options written on one line ("A: x, B: y" or "(A) x (B) y"); `body` must start with the A marker."""
    first = re.match(r"\s*" + _marker("A"), body)
    if first is None:
        return None
    starts, ends = [first.start()], [first.end()]
    for letter in LETTERS[1:]:
        found = re.compile(_marker(letter)).search(body, ends[-1])
        if found is None:
            break
        starts.append(found.start())
        ends.append(found.end())
    texts = [
        body[ends[i] : (starts[i + 1] if i + 1 < len(starts) else len(body))] for i in range(len(starts))
    ]
    texts = [text.strip().rstrip(",;").strip() for text in texts]
    return texts if len(texts) >= 2 and all(texts) else None


def _cut(text: str, start: int, end: int) -> str:
    before, after = text[:start].rstrip(" \t"), text[end:].lstrip(" \t")
    before = _TRAILING_LABEL.sub("", before).rstrip(" \t")
    if before and after and before[-1] in ".?!:" and after[0] in ".,;:":
        after = after[1:].lstrip(" \t")  # "Which one? [A: x, B: y]." keeps one full stop
    joiner = " " if before and after and before[-1] != "\n" and after[0] not in "\n.,;:?!" else ""
    return (before + joiner + after).strip()


def split_options_from_text(text: str) -> tuple[str, list[str]] | None:
    """(stem, options) when the question text lists lettered options, else None.

    Accepted: one option per line ("A. x", "A) x", "(A) x", "A: x", optionally under an "Options:" line);
    the paper's inline "[A: x, B: y, ...]"; "Options: A: x, B: y" or an unlabelled "(A) x (B) y" up to the
    end of its line. Options need consecutive letters from A and at least two of them.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        match = _OPTION_LINE.match(line)
        if match is None or (match.group(1) or match.group(2)) != "A":
            continue
        options, last = [match.group(3)], i
        for j in range(i + 1, len(lines)):
            if not lines[j].strip():
                continue
            following = _OPTION_LINE.match(lines[j])
            if following is None or (following.group(1) or following.group(2)) != LETTERS[len(options)]:
                break
            options.append(following.group(3))
            last = j
        first = i - 1 if i > 0 and _HEADER_LINE.match(lines[i - 1]) else i
        if len(options) < 2:
            inline = _inline_options(line)  # the whole list on the A line
            if inline is None:
                continue
            options = inline
        stem = "\n".join(lines[:first] + lines[last + 1 :])
        return re.sub(r"\n{3,}", "\n\n", stem).strip(), options
    for bracket in _BRACKETS.finditer(text):
        inline = _inline_options(bracket.group(1))
        if inline is not None:
            return _cut(text, bracket.start(), bracket.end()), inline
    for label in _LABEL.finditer(text):
        line_end = text.find("\n", label.end())
        line_end = len(text) if line_end < 0 else line_end
        inline = _inline_options(text[label.end() : line_end])
        if inline is not None:
            return _cut(text, label.start(), line_end), inline
    for marker in re.finditer(_marker("A"), text):  # unlabelled, "Which one? (A) x (B) y", to the line end
        line_end = text.find("\n", marker.start())
        line_end = len(text) if line_end < 0 else line_end
        inline = _inline_options(text[marker.start() : line_end])
        if inline is not None:
            return _cut(text, marker.start(), line_end), inline
    return None


def _strip_letter_prefixes(texts: list[str]) -> list[str]:
    """["A. x", "B. y"] -> ["x", "y"], only when every text carries its own letter in order."""
    matches = [_OPTION_LINE.match(text) for text in texts]
    if all(m is not None and (m.group(1) or m.group(2)) == LETTERS[i] for i, m in enumerate(matches)):
        return [m.group(3) for m in matches if m is not None]
    return texts


def _options_field(value: Any) -> list[str]:
    if isinstance(value, dict):
        keys = [re.sub(r"[\s().:]", "", str(key)).upper() for key in value]
        if sorted(keys) != list(LETTERS[: len(keys)]):
            raise _Rejected(
                "bad options", f"option letters {sorted(keys)} do not run A, B, C, ... without gaps"
            )
        texts = [value[key] for _, key in sorted(zip(keys, value, strict=True))]
    elif isinstance(value, list):
        texts = value
    else:
        raise _Rejected(
            "bad options", f"options must be a list or a letter->text object, not {type(value).__name__}"
        )
    if not all(isinstance(text, str) and text.strip() for text in texts):
        raise _Rejected("bad options", "every option must be a non-empty string")
    return _strip_letter_prefixes([text.strip() for text in texts])


def _key(text: str) -> str:
    return _SPACES.sub(" ", text.strip()).casefold()


def _loose_key(text: str) -> str:
    """Equal for names of one disease ("Spondylolysthesis"/"Spondylolisthesis") or level ("L4-5"/"L4/L5")."""
    level = re.fullmatch(r"\s*L([1-5])\s*[-/]\s*(?:L?([1-5])|(S1))\s*", text, re.IGNORECASE)
    if level is not None:
        return f"L{level.group(1)}/{('L' + level.group(2)) if level.group(2) else 'S1'}"
    return canonical_answer(text) or _key(text)


_ANSWER_LETTER = re.compile(r"^\(?([A-Ja-j])\)?(?:\s*[.:)]\s*(.*))?$", re.DOTALL)


def _letter_of(token: str, options: Sequence[str]) -> str | None:
    """The option letter an answer token names: a letter ("B", "(B)", "B. text") or an option text."""
    token = token.strip().strip("'\"").strip()
    match = _ANSWER_LETTER.match(token)
    if match is not None:
        letter = match.group(1).upper()
        if LETTERS.index(letter) >= len(options):
            raise _Rejected(
                "bad answer", f"answer letter {letter} is not among options A-{LETTERS[len(options) - 1]}"
            )
        text = match.group(2)
        if text and _loose_key(text) != _loose_key(options[LETTERS.index(letter)]):
            raise _Rejected("bad answer", f"answer {token!r} does not match option {letter}")
        return letter
    for finder in (_key, _loose_key):
        found = [LETTERS[i] for i, option in enumerate(options) if finder(option) == finder(token)]
        if len(found) == 1:
            return found[0]
    return None


def answer_letters(raw: Any, options: Sequence[str]) -> tuple[str, ...]:
    """Sorted answer letters from "B", "B, D", "[B, D]", ["B", "D"], or option texts ("Healthy")."""
    items = raw if isinstance(raw, list) else [raw]
    letters: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise _Rejected("bad answer", f"answer {item!r} is not a string")
        item = item.strip().removeprefix("[").removesuffix("]").strip()
        whole = _letter_of(item, options) if item else None
        if whole is not None:
            letters.add(whole)
            continue
        parts = [part.strip() for part in re.split(r"[,;]", item) if part.strip()]
        if len(parts) == 1 and re.fullmatch(r"[A-J](?:\s+[A-J])+", parts[0]):
            parts = parts[0].split()
        for part in parts:
            letter = _letter_of(part, options)
            if letter is None:
                raise _Rejected(
                    "bad answer", f"answer {part!r} is neither an option letter nor an option text"
                )
            letters.add(letter)
    if not letters:
        raise _Rejected("bad answer", "no answer given")
    return tuple(sorted(letters))


# ---------------------------------------------------------------- one record


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
    raise _Rejected("missing field", f"no {' or '.join(repr(n) for n in names)} field")


def parse_record(record: Any) -> _Parsed:
    """Checks one release record and reads its task, stem, options, answer letters and image path."""
    if not isinstance(record, dict):
        raise _Rejected("not an object", f"a record must be a JSON object, not {type(record).__name__}")
    task_name = _text_field(record, "task")
    task = RELEASE_TASK_NAMES.get(task_name.strip()) if isinstance(task_name, str) else None
    if task is None:
        raise _Rejected(
            "unknown task", f"unknown task {task_name!r} (expected one of {sorted(RELEASE_TASK_NAMES)})"
        )
    text = _text_field(record, "question")
    if not isinstance(text, str) or not text.strip():
        raise _Rejected("missing field", "the question is empty or not a string")
    in_text = split_options_from_text(text)
    raw_options = record.get("options", record.get("choices"))
    if raw_options is not None:
        options = _options_field(raw_options)
        stem = text.strip()
        if in_text is not None:
            if [_key(o) for o in in_text[1]] != [_key(o) for o in options]:
                raise _Rejected(
                    "options mismatch", "the options field and the options in the question text differ"
                )
            stem = in_text[0]
    elif in_text is not None:
        stem, options = in_text
    else:
        raise _Rejected("bad options", "no options field and no lettered options in the question text")
    if not 2 <= len(options) <= len(LETTERS):
        raise _Rejected("bad options", f"{len(options)} options (a question has 2 to {len(LETTERS)})")
    if len({_key(option) for option in options}) != len(options):
        raise _Rejected("bad options", "two options have the same text")
    if not stem:
        raise _Rejected("missing field", "the question has no text besides its options")
    answer = answer_letters(_text_field(record, "answers", "answer"), options)
    if task == "SDD" and len(answer) != 1:
        raise _Rejected(
            "answer count", f"a diagnosis question has one answer, not {len(answer)} ({', '.join(answer)})"
        )
    image = _text_field(record, "image", "image_path")
    if isinstance(image, list):
        if len(image) != 1:
            raise _Rejected("bad image path", f"{len(image)} images given; a question has exactly one")
        image = image[0]
    if not isinstance(image, str) or not image.strip():
        raise _Rejected("bad image path", "the image path is empty or not a string")
    return _Parsed(task, stem, tuple(options), answer, image.strip())


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


def resolve_image(raw: str, json_dir: Path, root: Path) -> Path:
    """The image file a record names, relative to its JSON file's folder or else to the release folder.

    The resolved path (symlinks followed) must stay inside the release folder.
    """
    relative = raw.replace("\\", "/")  # written on Windows
    if relative.startswith("/") or re.match(r"^[A-Za-z]:/", relative):
        raise _Rejected("path escapes release", f"image path {raw!r} is absolute; it must be relative")
    escaped = False
    for base in (json_dir, root):
        try:
            candidate = (base / relative).resolve()
            if not candidate.is_relative_to(root):
                escaped = True
            elif candidate.is_file():
                return candidate
        except (OSError, ValueError, RuntimeError) as error:  # NUL byte, name too long, symlink loop
            raise _Rejected("bad image path", f"image path {raw!r} cannot be resolved ({error})") from error
    if escaped:
        raise _Rejected("path escapes release", f"image path {raw!r} leads outside the release folder")
    looked = sorted({(base / relative).relative_to(root).as_posix() for base in (json_dir, root)})
    raise _Rejected("image not found", f"image {raw!r} not found (looked for {' and '.join(looked)})")


# ---------------------------------------------------------------- the import


def _release_files(release_dir: Path, root: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
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


def import_release(release_dir: Path, out: Path, *, progress: bool = False) -> ImportReport:
    """Imports a SpineBench release folder into a new benchmark directory `out`.

    Bad records are skipped and listed in the report (also written to `out/import_report.json`); raises
    ReleaseFormatError when no release file exists, one cannot be read, or no record could be imported.
    """
    if not release_dir.is_dir():
        raise ReleaseFormatError(f"{release_dir}: no such release folder")
    root = release_dir.resolve()
    files = _release_files(release_dir, root)
    loaded = [(name, path, subsets, _load_records(path, name)) for name, path, subsets in files]
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
    importer = _Importer(writer, report, root)
    with Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar:
        task_id = bar.add_task("Importing release", total=report.records)
        for name, path, subsets, records in loaded:
            for index, record in enumerate(records):
                importer.add(name, path.parent, index, record, subsets)
                bar.advance(task_id)
    _write_report(out / REPORT_NAME, report)
    if report.questions == 0:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in report.skipped_by_kind().items()) or "no records"
        raise ReleaseFormatError(
            f"{release_dir}: nothing could be imported ({kinds}); "
            f"every skipped record is listed in {out / REPORT_NAME}"
        )
    writer.close()
    return report


def _write_report(path: Path, report: ImportReport) -> None:
    path.write_text(json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass
class _Importer:
    """Turns records into questions; remembers which ids were stored and what each image resolved to."""

    writer: BenchmarkWriter
    report: ImportReport
    root: Path
    _seen: dict[str, tuple[str, int, tuple[str, ...]]] = field(default_factory=dict)
    _images: dict[Path, tuple[str, str] | _Rejected] = field(default_factory=dict)

    def add(self, file: str, json_dir: Path, index: int, record: Any, subsets: tuple[str, ...]) -> None:
        try:
            if isinstance(record, _Rejected):  # a JSON Lines line that did not parse
                raise _Rejected(record.kind, record.reason)
            self._add(file, json_dir, index, record, subsets)
        except _Rejected as rejected:
            self.report.skipped.append(SkippedRecord(file, index, rejected.kind, rejected.reason))

    def _add(self, file: str, json_dir: Path, index: int, record: Any, subsets: tuple[str, ...]) -> None:
        parsed = parse_record(record)
        path = resolve_image(parsed.image, json_dir, self.root)
        image_sha, image = self._image(path, parsed.image)
        qid = question_id(parsed.task, image_sha, parsed.stem, parsed.options)
        if qid in self._seen:
            first_file, first_index, first_answer = self._seen[qid]
            if first_answer != parsed.answer:
                raise _Rejected(
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

    def _image(self, path: Path, raw: str) -> tuple[str, str]:
        """(sha256, benchmark-relative path) of an image, stored on first use; each file is read once."""
        cached = self._images.get(path)
        if cached is None:
            try:
                data = path.read_bytes()
                cached = (sha256_bytes(data), self.writer.add_image(data, what=f"image {raw!r}"))
            except OSError as error:
                cached = _Rejected("unreadable image", f"image {raw!r} cannot be read ({error.strerror})")
            except BenchmarkError as error:
                cached = _Rejected("unreadable image", str(error))
            self._images[path] = cached
        if isinstance(cached, _Rejected):
            raise _Rejected(cached.kind, cached.reason)
        return cached
