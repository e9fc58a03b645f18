from __future__ import annotations

import base64
import csv
import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from spinebench.benchmark import SAMPLE_PATH, Benchmark, BenchmarkWriter, Question
from spinebench.export import export_vlmevalkit
from spinebench.prompts import PAPER, render_prompt
from spinebench.testing import require

COLUMNS = ["index", "image", "question", "A", "B", "C", "D", "E", "answer", "category", "l2-category"]
EXTRA = ["id", "task", "disease", "source", "modality", "subsets", "prompt", "level"]


def _read_tsv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)  # base64 images outgrow the csv module's default 128 KiB field limit
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _resolve_image(rows: list[dict[str, str]], row: dict[str, str]) -> bytes:
    """VLMEvalKit's rule: an image value of at most 64 characters is the index of the row holding it."""
    value = row["image"]
    if len(value) <= 64:
        value = rows[int(value)]["image"]
        assert len(value) > 64, "a shared image must point at a row that holds the image itself"
    return base64.b64decode(value, validate=True)


@pytest.fixture(scope="module")
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")


@pytest.fixture(scope="module")
def tsv(sample: Benchmark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = export_vlmevalkit(sample, tmp_path_factory.mktemp("vlmevalkit"))
    assert result.main.name == "SpineBench_MCQ.tsv" and result.questions == 38
    return result.main


def test_tsv_parses_back_with_csv_into_the_vlmevalkit_columns(sample: Benchmark, tsv: Path) -> None:
    rows = _read_tsv(tsv)
    questions = list(sample.iter_questions())
    assert list(rows[0]) == COLUMNS + EXTRA
    assert len(rows) == len(questions) == 38
    for index, (row, question) in enumerate(zip(rows, questions, strict=True)):
        assert row["index"] == str(index) and row["id"] == question.id
        assert row["question"] == question.question
        assert [row[letter] for letter in "ABCDE"] == list(question.options)
        assert row["answer"] == ",".join(question.answer)
        assert row["category"] == row["task"] == question.task
        assert row["l2-category"] == row["disease"] == question.disease
        assert row["subsets"] == ",".join(question.subsets)
        assert row["prompt"] == render_prompt(question, PAPER)
        data = _resolve_image(rows, row)
        assert data == sample.read_image(question)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    sll = [row for row in rows if row["category"] == "SLL"]
    assert len(sll) == 14 and any("," in row["answer"] for row in sll)  # multi-answer as "A,C"


def test_each_image_is_stored_once_and_shared_by_row_index(sample: Benchmark, tsv: Path) -> None:
    rows = _read_tsv(tsv)
    stored = [row for row in rows if len(row["image"]) > 64]
    assert len(stored) == len({question.image for question in sample.iter_questions()}) == 24
    shared = [row for row in rows if len(row["image"]) <= 64]
    assert shared and all(int(row["image"]) < int(row["index"]) for row in shared)


def test_share_images_false_repeats_every_image(sample: Benchmark, tmp_path: Path) -> None:
    result = export_vlmevalkit(sample, tmp_path, share_images=False, name="Spine")
    rows = _read_tsv(tmp_path / "Spine.tsv")
    assert result.main == tmp_path / "Spine.tsv"
    assert all(len(row["image"]) > 64 for row in rows) and len(rows) == 38


def test_tsv_parses_back_with_pandas_as_vlmevalkit_reads_it(sample: Benchmark, tsv: Path) -> None:
    pd = require("pandas")
    frame = pd.read_csv(tsv, sep="\t")  # exactly vlmeval.smp.load for .tsv
    assert list(frame.columns) == COLUMNS + EXTRA
    assert len(frame) == 38 and frame["index"].tolist() == list(range(38))
    assert set(frame["category"]) == {"SDD", "SLL"}
    assert frame["prompt"].tolist() == [render_prompt(q, PAPER) for q in sample.iter_questions()]
    assert not frame[list("ABCDE")].isna().any().any()


def _odd_benchmark(path: Path) -> Benchmark:
    """Seven options, and texts with a tab, quotes, a newline and non-ASCII characters."""
    writer = BenchmarkWriter(path, name="odd")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, format="PNG")
    image = writer.add_image(buffer.getvalue())
    options = ('say "no"', "tab\there", "two\nlines", "Ünïcode", "E", "F", "G")
    writer.add_question(
        Question("odd-1", "SDD", image, 'Which "one"?\tReally?', options, ("C",), "Healthy", "t", "xray")
    )
    writer.add_question(Question("odd-2", "SLL", image, "Levels?", options[:5], ("A", "E"), "x", "t", "xray"))
    writer.close()
    return Benchmark.open(path)


def test_quoting_and_wide_option_sets_survive_the_round_trip(tmp_path: Path) -> None:
    bench = _odd_benchmark(tmp_path / "bench")
    export_vlmevalkit(bench, tmp_path / "out")
    rows = _read_tsv(tmp_path / "out" / "SpineBench_MCQ.tsv")
    assert list(rows[0])[3:10] == list("ABCDEFG")
    assert rows[0]["question"] == 'Which "one"?\tReally?'
    assert [rows[0][letter] for letter in "ABCDEFG"] == [
        'say "no"',
        "tab\there",
        "two\nlines",
        "Ünïcode",
        "E",
        "F",
        "G",
    ]
    assert rows[1]["F"] == rows[1]["G"] == "" and rows[1]["answer"] == "A,E"
    assert rows[1]["image"] == "0"
