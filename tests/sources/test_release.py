"""The importer of the published SpineBench release: layouts, option/answer styles, bad records, the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from spinebench.benchmark import Benchmark, Question
from spinebench.cli import app
from spinebench.errors import BenchmarkError, ReleaseFormatError
from spinebench.sources import ImportReport, import_release
from spinebench.sources import ReleaseSkippedRecord as SkippedRecord
from spinebench.sources.release import answer_letters, infer_modality, question_id, split_options_from_text

SDD = "spine_disease_classification"
SLL = "spine_lesion_localization"
DISEASE_OPTIONS = ["Healthy", "Osteophytes", "Cervical kyphosis", "Foraminal stenosis", "Spondylolisthesis"]
LEVEL_OPTIONS = ["L3/L4", "L1/L2", "L5/S1", "L2/L3", "L4/L5"]


def image_bytes(shade: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 255 - shade, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def write_image(path: Path, shade: int, fmt: str = "PNG") -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = image_bytes(shade, fmt)
    path.write_bytes(data)
    return data


def write_release(root: Path, *, test: Any = None, train: Any = None) -> Path:
    """Writes evaluation/test.json and/or all/train.json (a list -> JSON; a str -> written as is)."""
    for name, content in (("evaluation/test.json", test), ("all/train.json", train)):
        if content is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return root


def sdd(image: str = "images/a.png", answers: Any = "B", **fields: Any) -> dict[str, Any]:
    record = {"image": image, "question": "Which diagnosis fits this image?", "task": SDD, "answers": answers}
    record.setdefault("options", DISEASE_OPTIONS)
    record.update(fields)
    return record


def sll(image: str = "images/a.png", answers: Any = "C, E", **fields: Any) -> dict[str, Any]:
    record = {
        "image": image,
        "question": "At which levels is spinal canal stenosis present?",
        "task": SLL,
        "answers": answers,
        "options": LEVEL_OPTIONS,
    }
    record.update(fields)
    return record


def import_one(
    tmp_path: Path, record: dict[str, Any], *, shade: int = 10
) -> tuple[ImportReport, list[Question]]:
    release = tmp_path / "release"
    write_image(release / "evaluation" / "images" / "a.png", shade)
    write_release(release, test=[record])
    report = import_release(release, tmp_path / "bench")
    return report, list(Benchmark.open(tmp_path / "bench", verify="full").iter_questions())


def skipped_kinds(report: ImportReport) -> list[str]:
    return [record.kind for record in report.skipped]


# ---------------------------------------------------------------- a whole question


def test_imported_question_is_exactly_what_the_record_says(tmp_path: Path) -> None:
    report, questions = import_one(tmp_path, sdd(image="images/a.png", answers="B"))
    data = image_bytes(10)
    sha = hashlib.sha256(data).hexdigest()
    expected = Question(
        id=question_id("SDD", sha, "Which diagnosis fits this image?", DISEASE_OPTIONS),
        task="SDD",
        image=f"images/{sha[:2]}/{sha}.png",
        question="Which diagnosis fits this image?",
        options=tuple(DISEASE_OPTIONS),
        answer=("B",),
        disease="Osteophytes",
        source="release",
        modality="unknown",
        subsets=("sub",),
    )
    assert questions == [expected]
    assert expected.id.startswith("sdd-") and len(expected.id) == len("sdd-") + 16
    assert report.imported == {"SDD": 1} and report.imported_sub == {"SDD": 1}
    assert report.skipped == []
    bench = Benchmark.open(tmp_path / "bench")
    assert bench.read_image(questions[0]) == data
    assert bench.manifest["build"]["imported_from"] == "SpineBench release"
    assert bench.manifest["build"]["files"] == ["evaluation/test.json"]
    assert str(tmp_path) not in json.dumps(bench.manifest)
    assert str(tmp_path) not in (tmp_path / "bench" / "import_report.json").read_text()


def test_sll_question_gets_disease_from_its_stem(tmp_path: Path) -> None:
    _, [question] = import_one(tmp_path, sll(answers=["L4/L5", "L5/S1"]))
    assert question.task == "SLL"
    assert question.answer == ("C", "E")
    assert question.disease == "Spinal canal stenosis"
    assert question.id.startswith("sll-")


def test_sll_without_a_named_disease_is_unspecified(tmp_path: Path) -> None:
    _, [question] = import_one(tmp_path, sll(question="Which disc levels show the finding?"))
    assert question.disease == "unspecified"


# ---------------------------------------------------------------- options


def test_options_as_dict_in_any_key_order(tmp_path: Path) -> None:
    options = {"B": "Osteophytes", "A": "Healthy", "C": "Vertebral collapse"}
    _, [question] = import_one(tmp_path, sdd(options=options, answers="C"))
    assert question.options == ("Healthy", "Osteophytes", "Vertebral collapse")
    assert question.disease == "Vertebral collapse"


def test_options_under_choices_with_letter_prefixes(tmp_path: Path) -> None:
    record = sdd(answers="A")
    del record["options"]
    record["choices"] = ["A. Healthy", "B. Osteophytes"]
    _, [question] = import_one(tmp_path, record)
    assert question.options == ("Healthy", "Osteophytes")


STEM = "Which diagnosis fits this image?"
TEXT_STYLES = {
    "dot lines": f"{STEM}\nA. Healthy\nB. Osteophytes\nC. Cervical kyphosis",
    "paren lines": f"{STEM}\nA) Healthy\nB) Osteophytes\nC) Cervical kyphosis",
    "bracketed lines": f"{STEM}\n(A) Healthy\n(B) Osteophytes\n(C) Cervical kyphosis",
    "colon lines under a header": f"{STEM}\nOptions:\nA: Healthy\nB: Osteophytes\nC: Cervical kyphosis",
    "paper inline": f"{STEM} [A: Healthy, B: Osteophytes, C: Cervical kyphosis]",
    "labelled inline": f"{STEM} Options: A: Healthy, B: Osteophytes, C: Cervical kyphosis",
    "labelled bracket": f"{STEM}\nOptions: [A: Healthy, B: Osteophytes, C: Cervical kyphosis]",
    "unlabelled inline": f"{STEM} (A) Healthy (B) Osteophytes (C) Cervical kyphosis",
}


@pytest.mark.parametrize("text", TEXT_STYLES.values(), ids=TEXT_STYLES.keys())
def test_options_in_question_text_are_split_off(tmp_path: Path, text: str) -> None:
    record = sdd(question=text, answers="C")
    del record["options"]
    _, [question] = import_one(tmp_path, record)
    assert question.question == STEM
    assert question.options == ("Healthy", "Osteophytes", "Cervical kyphosis")
    assert question.answer == ("C",)


def test_text_after_the_option_block_stays_in_the_stem() -> None:
    assert split_options_from_text("Which one?\nA. x\nB. y\nAnswer with the letter.") == (
        "Which one?\nAnswer with the letter.",
        ["x", "y"],
    )
    assert split_options_from_text("Which one? [A: x, B: y]. Think first.") == (
        "Which one? Think first.",
        ["x", "y"],
    )


def test_same_options_in_field_and_text_leave_a_clean_stem(tmp_path: Path) -> None:
    record = sdd(
        question=TEXT_STYLES["paper inline"], options=["Healthy", "Osteophytes", "Cervical kyphosis"]
    )
    _, [question] = import_one(tmp_path, {**record, "answers": "A"})
    assert question.question == STEM


def test_different_options_in_field_and_text_are_rejected(tmp_path: Path) -> None:
    record = sdd(question=TEXT_STYLES["paper inline"], options=["Healthy", "Osteophytes"], answers="A")
    with pytest.raises(ReleaseFormatError):
        import_one(tmp_path, record)
    report = json.loads((tmp_path / "bench" / "import_report.json").read_text())
    assert report["skipped"][0]["kind"] == "options mismatch"


def test_text_without_lettered_options_is_not_split() -> None:
    assert split_options_from_text("A 45-year-old patient. Which disease is shown?") is None
    assert split_options_from_text("Grade A: mild.") is None


# ---------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("answers", "letters"),
    [
        ("B", ("B",)),
        ("B, D", ("B", "D")),
        ("[B, D]", ("B", "D")),
        (["B", "D"], ("B", "D")),
        (["D", "B"], ("B", "D")),
        ("['B', 'D']", ("B", "D")),
        ("(E)", ("E",)),
        ("b", ("B",)),
        (["L4/L5", "L5/S1"], ("C", "E")),
        ("L4/L5, L5/S1", ("C", "E")),
        ("L4-5", ("E",)),
        ("C. L5/S1", ("C",)),
    ],
)
def test_answer_styles(answers: Any, letters: tuple[str, ...]) -> None:
    assert answer_letters(answers, LEVEL_OPTIONS) == letters


@pytest.mark.parametrize("answers", ["Healthy", "healthy", "Normal", ["Healthy"], "A"])
def test_sdd_answer_as_option_text(tmp_path: Path, answers: Any) -> None:
    _, [question] = import_one(tmp_path, sdd(answers=answers))
    assert question.answer == ("A",)
    assert question.disease == "Healthy"


def test_released_capitalisation_maps_to_canonical_disease(tmp_path: Path) -> None:
    options = ["Subarticular Stenosis", "cervical Lordosis", "Healthy"]
    _, [question] = import_one(tmp_path, sdd(options=options, answers="cervical Lordosis"))
    assert question.options == tuple(options)  # kept as released
    assert question.disease == "Cervical lordosis"


# ---------------------------------------------------------------- bad records


def rejected(tmp_path: Path, bad: dict[str, Any]) -> SkippedRecord:
    """Imports [a good record, `bad`] and returns the one skip, checking the good one still came in."""
    release = tmp_path / "release"
    write_image(release / "evaluation" / "images" / "a.png", 10)
    write_release(release, test=[sdd(), bad])
    report = import_release(release, tmp_path / "bench")
    assert report.questions == 1
    [skip] = report.skipped
    assert (skip.file, skip.index) == ("evaluation/test.json", 1)
    return skip


def test_unknown_task_is_rejected(tmp_path: Path) -> None:
    skip = rejected(tmp_path, sdd(task="spine_segmentation"))
    assert skip.kind == "unknown task"
    assert "spine_segmentation" in skip.reason
    assert str(skip).startswith("evaluation/test.json record 1: unknown task")


def test_sdd_with_two_answers_is_rejected(tmp_path: Path) -> None:
    assert rejected(tmp_path, sdd(answers="B, D")).kind == "answer count"


@pytest.mark.parametrize("answers", ["F", ["A", "G"], "Vertebral collapse", ""])
def test_answers_outside_the_options_are_rejected(tmp_path: Path, answers: Any) -> None:
    assert rejected(tmp_path, sdd(answers=answers)).kind == "bad answer"


def test_sll_letter_out_of_range_names_the_letter(tmp_path: Path) -> None:
    skip = rejected(tmp_path, sll(answers="B, F"))
    assert skip.kind == "bad answer" and "F" in skip.reason


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        ({"image": ["images/a.png", "images/b.png"]}, "bad image path"),
        ({"options": ["Healthy"]}, "bad options"),
        ({"options": {"A": "Healthy", "C": "Osteophytes"}}, "bad options"),
        ({"options": ["Healthy", "healthy"]}, "bad options"),
        ({"options": None, "question": "Which diagnosis?"}, "bad options"),
    ],
)
def test_malformed_fields_are_rejected(tmp_path: Path, bad: dict[str, Any], kind: str) -> None:
    assert rejected(tmp_path, sdd(**bad)).kind == kind


def test_record_missing_its_question_or_not_an_object(tmp_path: Path) -> None:
    record = sdd()
    del record["question"]
    assert rejected(tmp_path / "one", record).kind == "missing field"
    assert rejected(tmp_path / "two", ["not", "an", "object"]).kind == "not an object"  # type: ignore[arg-type]


def test_single_image_in_a_list_is_accepted(tmp_path: Path) -> None:
    _, [question] = import_one(tmp_path, sdd(image=["images/a.png"]))
    assert question.image.startswith("images/")


def test_missing_image_is_rejected_with_where_it_looked(tmp_path: Path) -> None:
    skip = rejected(tmp_path, sdd(image="images/nowhere.png"))
    assert skip.kind == "image not found"
    assert "evaluation/images/nowhere.png" in skip.reason and "images/nowhere.png" in skip.reason


def test_corrupt_image_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "release" / "evaluation" / "images").mkdir(parents=True)
    (tmp_path / "release" / "evaluation" / "images" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    skip = rejected(tmp_path, sdd(image="images/bad.png"))
    assert skip.kind == "unreadable image" and "images/bad.png" in skip.reason


def test_non_image_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "release" / "evaluation").mkdir(parents=True)
    (tmp_path / "release" / "evaluation" / "notes.txt").write_text("hello")
    assert rejected(tmp_path, sdd(image="notes.txt")).kind == "unreadable image"


def test_paths_escaping_the_release_are_rejected(tmp_path: Path) -> None:
    release = tmp_path / "release"
    outside = tmp_path / "outside.png"
    write_image(outside, 99)
    write_image(release / "evaluation" / "images" / "a.png", 10)
    (release / "evaluation" / "images" / "link.png").symlink_to(outside)
    (release / "evaluation" / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    records = [
        sdd(),
        sdd(image="../../outside.png"),
        sdd(image=str(outside)),
        sdd(image="images/link.png"),
        sdd(image="linked_dir/outside.png"),
        sdd(image="..\\..\\outside.png"),
    ]
    write_release(release, test=records)
    report = import_release(release, tmp_path / "bench")
    assert report.questions == 1
    assert [(s.index, s.kind) for s in report.skipped] == [(i, "path escapes release") for i in range(1, 6)]
    outside_sha = hashlib.sha256(image_bytes(99)).hexdigest()
    assert not list((tmp_path / "bench" / "images").rglob(f"{outside_sha}.*"))


def test_dotdot_inside_the_release_and_release_relative_paths_are_fine(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "shared" / "x.png", 1)
    write_image(release / "shared" / "y.jpg", 2, fmt="JPEG")
    write_release(release, train=[sdd(image="../shared/x.png"), sdd(image="shared/y.jpg")])
    report = import_release(release, tmp_path / "bench")
    assert report.questions == 2 and report.skipped == []
    assert report.imported_sub == {}


def test_conflicting_duplicate_is_rejected(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation" / "images" / "a.png", 10)
    write_release(release, test=[sdd(answers="B"), sdd(answers="C")])
    report = import_release(release, tmp_path / "bench")
    [skip] = report.skipped
    assert skip.kind == "conflicting duplicate" and "evaluation/test.json record 0" in skip.reason


# ---------------------------------------------------------------- files and layouts


def test_both_files_overlapping_make_one_question_flagged_sub(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation" / "img" / "a.png", 10)
    write_image(release / "all" / "img" / "a.png", 10)  # the same bytes, stored twice in the release
    write_image(release / "all" / "img" / "b.png", 20)
    write_release(
        release,
        test=[sdd(image="img/a.png"), sll(image="img/a.png")],
        train=[sdd(image="img/b.png"), sdd(image="img/a.png", answers="Osteophytes"), sll(image="img/a.png")],
    )
    report = import_release(release, tmp_path / "bench")
    assert report.files == ("evaluation/test.json", "all/train.json")
    assert report.duplicates == 2 and report.skipped == []
    bench = Benchmark.open(tmp_path / "bench", verify="full")
    questions = list(bench.iter_questions())
    assert [(q.task, q.subsets) for q in questions] == [("SDD", ("sub",)), ("SLL", ("sub",)), ("SDD", ())]
    assert bench.count("sub") == 2 and len(bench) == 3
    assert bench.manifest["counts"]["images"] == 2
    assert bench.manifest["build"]["files"] == ["evaluation/test.json", "all/train.json"]


def test_json_lines_and_data_wrapper(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation" / "images" / "a.png", 10)
    write_image(release / "all" / "images" / "a.png", 11)
    lines = [json.dumps(sdd()), "{not json", "", json.dumps(sll())]
    (release / "evaluation").mkdir(exist_ok=True)
    (release / "evaluation" / "test.jsonl").write_text("\n".join(lines) + "\n")
    write_release(release, train={"data": [sdd(answers="E")]})
    report = import_release(release, tmp_path / "bench")
    assert report.files == ("evaluation/test.jsonl", "all/train.json")
    assert report.imported == {"SDD": 2, "SLL": 1}
    assert [(s.file, s.index, s.kind) for s in report.skipped] == [
        ("evaluation/test.jsonl", 1, "invalid JSON")
    ]


def test_json_lines_split_only_at_newlines_not_at_unicode_line_separators(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation" / "images" / "a.png", 10)
    # Raw U+2028 and NEL are legal inside a JSON string; str.splitlines() would cut the record there.
    odd = sdd(question="Which diagnosis fits this image?\u2028Lateral view\x85 of the lumbar spine.")
    lines = [json.dumps(odd, ensure_ascii=False), json.dumps(sll())]
    (release / "evaluation").mkdir(exist_ok=True)
    (release / "evaluation" / "test.jsonl").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    report = import_release(release, tmp_path / "bench")
    assert report.skipped == []
    assert report.records == 2 and report.imported == {"SDD": 1, "SLL": 1}
    stems = {q.question for q in Benchmark.open(tmp_path / "bench").iter_questions()}
    assert "Which diagnosis fits this image?\u2028Lateral view\x85 of the lumbar spine." in stems


def test_release_without_either_file_names_the_expected_paths(tmp_path: Path) -> None:
    (tmp_path / "release").mkdir()
    with pytest.raises(ReleaseFormatError, match=r"evaluation/test\.json.*all/train\.json"):
        import_release(tmp_path / "release", tmp_path / "bench")
    assert not (tmp_path / "bench").exists()


@pytest.mark.parametrize("content", ["{broken", '"a string"', '{"data": 3}'])
def test_unreadable_json_file_is_an_error(tmp_path: Path, content: str) -> None:
    write_release(tmp_path / "release", test=content)
    with pytest.raises(ReleaseFormatError, match=r"evaluation/test\.json"):
        import_release(tmp_path / "release", tmp_path / "bench")


def test_nothing_imported_is_an_error_with_a_full_report(tmp_path: Path) -> None:
    write_release(tmp_path / "release", test=[sdd(task="x"), sdd(image="missing.png")])
    with pytest.raises(ReleaseFormatError, match="nothing could be imported"):
        import_release(tmp_path / "release", tmp_path / "bench")
    report = json.loads((tmp_path / "bench" / "import_report.json").read_text())
    assert report["skipped_by_kind"] == {"image not found": 1, "unknown task": 1}
    assert not (tmp_path / "bench" / "manifest.json").exists()


def test_existing_benchmark_is_not_overwritten(tmp_path: Path) -> None:
    import_one(tmp_path, sdd())
    with pytest.raises(BenchmarkError, match="already holds a benchmark"):
        import_release(tmp_path / "release", tmp_path / "bench")


def test_import_is_byte_for_byte_deterministic(tmp_path: Path) -> None:
    release = tmp_path / "release"
    for i in range(6):
        write_image(release / "all" / "images" / f"{i}.png", i * 30)
    write_image(release / "evaluation" / "images" / "0.png", 0)
    records = [sdd(image=f"images/{i}.png", answers=["A", "B", "C", "D", "E"][i % 5]) for i in range(6)]
    records += [sll(image=f"images/{i}.png") for i in range(6)] + [sdd(task="?")]
    write_release(release, test=[sdd(image="images/0.png", answers="A")], train=records)
    first = import_release(release, tmp_path / "one")
    second = import_release(release, tmp_path / "two")
    assert first.to_json() == second.to_json()
    for name in ("benchmark.parquet", "manifest.json", "import_report.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_modality_inference() -> None:
    assert infer_modality("rsna/123/T2_sagittal.png", "Which disease?") == "mri"
    assert infer_modality("images/1.png", "Look at this sagittal MRI.") == "mri"
    assert infer_modality("vindr/1.png", "Which disease?") == "xray"
    assert infer_modality("images/1.png", "In this lateral X-ray, which level?") == "xray"
    assert infer_modality("images/1.png", "Which disease?") == "unknown"
    assert infer_modality("images/mri_vs_xray.png", "Which disease?") == "unknown"


# ---------------------------------------------------------------- the command


def test_cli_succeeds_and_lists_skipped_records(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_image(release / "evaluation" / "images" / "a.png", 10)
    write_release(release, test=[sdd(), sdd(task="mystery"), sll()])
    result = CliRunner().invoke(app, ["import-release", str(release), "--out", str(tmp_path / "bench")])
    assert result.exit_code == 0, result.output
    assert "evaluation/test.json record 1: unknown task 'mystery'" in result.output
    assert "import_report.json" in result.output
    assert "SDD" in result.output and "SLL" in result.output
    assert len(Benchmark.open(tmp_path / "bench")) == 2


def test_cli_fails_when_release_has_no_json(tmp_path: Path) -> None:
    (tmp_path / "release").mkdir()
    result = CliRunner().invoke(app, ["import-release", str(tmp_path / "release"), "-o", str(tmp_path / "b")])
    assert result.exit_code != 0
    assert "evaluation/test.json" in result.output and "all/train.json" in result.output
    assert "Traceback" not in result.output


def test_cli_fails_when_nothing_is_imported(tmp_path: Path) -> None:
    write_release(tmp_path / "release", train=[sdd(image="gone.png")])
    result = CliRunner().invoke(app, ["import-release", str(tmp_path / "release"), "-o", str(tmp_path / "b")])
    assert result.exit_code != 0
    assert "nothing could be imported" in result.output


def test_symlinked_release_folder_itself_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_image(real / "evaluation" / "images" / "a.png", 10)
    write_release(real, test=[sdd()])
    os.symlink(real, tmp_path / "link", target_is_directory=True)
    assert import_release(tmp_path / "link", tmp_path / "bench").questions == 1
