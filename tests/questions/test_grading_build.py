"""Severity grading (SSG) built from synthetic sources: every grade, the marked slice, the optional ring, the
grade-balanced subset, and the tasks and protocol named in the manifest and card."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from spinebench.benchmark import Benchmark, Question
from spinebench.catalog import CATALOG_NAME, SourceFolders, build_catalog
from spinebench.hashing import sha256_bytes
from spinebench.imaging import encode_png, standardise
from spinebench.questions import (
    CARD_FILE,
    GRADING_PROTOCOL,
    PAPER_PROTOCOL,
    SUBSET_NAME,
    BuildSettings,
    TaskSelectionError,
    build_benchmark,
    marker_radius,
    parse_tasks,
)
from spinebench.questions._grading import MARKER_COLOUR
from spinebench.synth import write_synthetic_sources
from spinebench.taxonomy import SEVERITY_GRADES

KEY = b"0123456789abcdef-grading-key"
TASKS = ("SDD", "SLL", "SSG")


@pytest.fixture(scope="module")
def catalog(synthetic_sources: SourceFolders, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grading")
    build_catalog(synthetic_sources.readers(), root / "catalog", key=KEY, workers=1)
    return root / "catalog"


def _build(catalog: Path, out: Path, **settings: object) -> Benchmark:
    build_benchmark(catalog, out, BuildSettings(encoder="pixels", synthetic=True, **settings))  # type: ignore[arg-type]
    return Benchmark.open(out, verify="full")


@pytest.fixture(scope="module")
def graded(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    return _build(catalog, tmp_path_factory.mktemp("b") / "bench", tasks=TASKS)


@pytest.fixture(scope="module")
def marked(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    return _build(catalog, tmp_path_factory.mktemp("m") / "bench", tasks=TASKS, mark_levels=True)


def _ssg(bench: Benchmark) -> list[Question]:
    return [q for q in bench.iter_questions() if q.task == "SSG"]


def _rows(root: Path, name: str) -> list[dict[str, str]]:
    with (root / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _column(condition: str, level: str) -> str:
    return f"{condition.lower().replace(' ', '_')}_{level.lower().replace('/', '_')}"


def _marked_slices(rsna: Path) -> dict[tuple[str, str, str], tuple[Path, float, float]]:
    """(PNG sha256 of the standardised slice, condition, level) -> (DICOM, x, y), for every coordinates row
    whose grade in train.csv is known: what each SSG question must be about."""
    grades = {row["study_id"]: row for row in _rows(rsna, "train.csv")}
    found: dict[tuple[str, str, str], tuple[Path, float, float]] = {}
    for row in _rows(rsna, "train_label_coordinates.csv"):
        if not grades[row["study_id"]][_column(row["condition"], row["level"])]:
            continue  # a blank grade: nothing to ask
        dicom = rsna / "train_images" / row["study_id"] / row["series_id"] / f"{row['instance_number']}.dcm"
        digest = sha256_bytes(encode_png(standardise(dicom)))
        found[digest, row["condition"], row["level"]] = (dicom, float(row["x"]), float(row["y"]))
    return found


def test_ssg_questions_cover_every_grade_with_the_fixed_options(graded: Benchmark) -> None:
    questions = _ssg(graded)
    grades = Counter(q.answer_texts[0] for q in questions)
    assert set(grades) == set(SEVERITY_GRADES) and min(grades.values()) >= 3
    for question in questions:
        assert question.options == SEVERITY_GRADES  # fixed order, never shuffled
        assert question.level in question.question and question.disease.lower() in question.question
        assert question.question.startswith("What is the severity of ")
        assert question.source == "rsna" and question.modality == "mri" and not question.multiple
    assert len({q.id for q in questions}) == len(questions)


def test_every_graded_mark_is_asked_on_its_own_slice(
    graded: Benchmark, synthetic_sources: SourceFolders
) -> None:
    assert synthetic_sources.rsna is not None
    expected = _marked_slices(synthetic_sources.rsna)
    grades = {row["study_id"]: row for row in _rows(synthetic_sources.rsna, "train.csv")}
    asked = {}
    for question in _ssg(graded):
        digest = Path(question.image).stem  # the benchmark names images by their content hash
        asked[digest, question.disease, question.level] = question
    assert set(asked) == set(expected)
    for key, question in asked.items():
        dicom = expected[key][0]
        study = dicom.parent.parent.name
        assert question.answer_texts == (grades[study][_column(question.disease, str(question.level))],)


def test_mark_levels_circles_the_marked_point(
    graded: Benchmark, marked: Benchmark, synthetic_sources: SourceFolders
) -> None:
    assert synthetic_sources.rsna is not None
    expected = _marked_slices(synthetic_sources.rsna)
    plain = {(q.disease, q.level, q.id): q for q in _ssg(graded)}
    assert marked.manifest["build"]["grading"]["mark_levels"] is True
    assert graded.manifest["build"]["grading"]["mark_levels"] is False
    circled = _ssg(marked)
    assert len(circled) == len(plain)
    for question in circled:
        original = plain[question.disease, question.level, question.id]
        assert "(circled on the image)" in question.question and question.image != original.image
        _, x, y = expected[Path(original.image).stem, question.disease, str(question.level)]
        before = np.asarray(Image.open(io.BytesIO(graded.read_image(original))).convert("RGB"), dtype=int)
        after = np.asarray(Image.open(io.BytesIO(marked.read_image(question))).convert("RGB"), dtype=int)
        # The synthetic slices are 128 px, so their points need no scaling: the ring passes through
        # (x + radius, y) and leaves the marked point itself untouched.
        radius = marker_radius(after.shape[1], after.shape[0])
        row = round(y)
        ring = after[row, round(x + radius) - max(1, radius // 4) - 1 : round(x + radius) + 2]
        assert (np.abs(ring - np.asarray(MARKER_COLOUR)).max(axis=1) <= 40).any()
        assert (after[round(y), round(x)] == before[round(y), round(x)]).all()
        assert (after != before).any(axis=2).sum() < 0.2 * after.shape[0] * after.shape[1]


def test_the_subset_balances_the_grades(catalog: Path, tmp_path: Path) -> None:
    bench = _build(catalog, tmp_path / "bench", tasks=TASKS, sub_ssg=9)
    chosen = [q for q in _ssg(bench) if SUBSET_NAME in q.subsets]
    assert Counter(q.answer_texts[0] for q in chosen) == dict.fromkeys(SEVERITY_GRADES, 3)
    assert bench.manifest["build"]["subsets"][SUBSET_NAME]["SSG"] == {"requested": 9, "selected": 9}


def test_manifest_and_card_name_the_tasks_and_protocol(
    graded: Benchmark, catalog: Path, tmp_path: Path
) -> None:
    build = graded.manifest["build"]
    assert (build["protocol"], build["tasks"]) == (GRADING_PROTOCOL, ["SDD", "SLL", "SSG"])
    card = (graded.path / CARD_FILE).read_text()
    assert f"Tasks: SDD, SLL, SSG; protocol `{GRADING_PROTOCOL}`" in card
    assert "SSG (Spinal severity grading)" in card and "per condition and grade" in card

    paper = _build(catalog, tmp_path / "paper")
    assert (paper.manifest["build"]["protocol"], paper.manifest["build"]["tasks"]) == (
        PAPER_PROTOCOL,
        ["SDD", "SLL"],
    )
    assert not _ssg(paper) and "grading" not in paper.manifest["build"]
    assert f"Tasks: SDD, SLL; protocol `{PAPER_PROTOCOL}`." in (paper.path / CARD_FILE).read_text()
    # The paper's questions are the same whether or not SSG is built beside them.
    assert [q for q in graded.iter_questions() if q.task != "SSG"] == list(paper.iter_questions())


def test_task_lists_are_checked() -> None:
    assert parse_tasks("sdd, SLL,ssg") == TASKS
    assert parse_tasks(["SLL", "SDD"]) == ("SDD", "SLL")
    with pytest.raises(TaskSelectionError, match="unknown task XYZ"):
        parse_tasks("SDD,SLL,XYZ")
    with pytest.raises(TaskSelectionError, match="must include the paper's SDD, SLL"):
        parse_tasks("SSG")


def test_a_catalogue_without_grades_says_why_no_ssg_question_was_made(tmp_path: Path) -> None:
    folders = write_synthetic_sources(tmp_path / "sources", seed=1)
    sources = SourceFolders(vindr=folders["vindr"])  # no RSNA: nothing graded
    build_catalog(sources.readers(), tmp_path / "catalog", key=KEY, workers=1)
    assert pq.read_table(tmp_path / "catalog" / CATALOG_NAME).num_rows > 0
    report = build_benchmark(
        tmp_path / "catalog", tmp_path / "bench", BuildSettings(encoder="pixels", tasks=TASKS, synthetic=True)
    )
    assert report.questions["SSG"] == 0
    assert any(line.startswith("SSG: the catalogue holds no graded RSNA slice") for line in report.skipped)
