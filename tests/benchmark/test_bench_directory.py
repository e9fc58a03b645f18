from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from spinebench.benchmark import SAMPLE_PATH, Benchmark, BenchmarkWriter, Question
from spinebench.errors import BenchmarkError
from spinebench.synth import write_sample_benchmark


def _png(color: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (color, color, color)).save(buffer, format="PNG")
    return buffer.getvalue()


def _question(qid: str, image: str, **overrides: object) -> Question:
    fields: dict[str, object] = dict(
        id=qid,
        task="SDD",
        image=image,
        question="Which?",
        options=("Healthy", "Osteophytes"),
        answer=("A",),
        disease="Healthy",
        source="test",
        modality="xray",
    )
    fields.update(overrides)
    return Question(**fields)  # type: ignore[arg-type]


def test_round_trip_streams_questions_and_checks_images(tmp_path: Path) -> None:
    writer = BenchmarkWriter(tmp_path / "b", name="t", seed=3)
    image = writer.add_image(_png(10))
    assert writer.add_image(_png(10)) == image  # content-addressed: stored once
    questions = [_question(f"q{i}", image, subsets=("sub",) if i % 2 else ()) for i in range(5)]
    for question in questions:
        writer.add_question(question)
    manifest = writer.close()
    assert manifest["counts"]["questions"] == 5 and manifest["counts"]["images"] == 1
    bench = Benchmark.open(tmp_path / "b", verify="full")
    assert list(bench.iter_questions()) == questions
    assert [q.id for q in bench.iter_questions("sub")] == ["q1", "q3"]
    assert bench.count("sub") == 2
    assert bench.read_image(questions[0]) == _png(10)


def test_writer_rejects_corrupt_image_and_unknown_task(tmp_path: Path) -> None:
    writer = BenchmarkWriter(tmp_path / "b", name="t")
    with pytest.raises(BenchmarkError, match="case 7: not a readable image"):
        writer.add_image(_png(1)[:30], what="case 7")
    with pytest.raises(ValueError, match="unknown task"):
        _question("x", "images/x.png", task="VQA")
    with pytest.raises(ValueError, match="exactly one answer"):
        _question("x", "images/x.png", answer=("A", "B"))


def test_open_names_missing_and_altered_files(sample_copy: Path) -> None:
    image = next(sample_copy.glob("images/*/*.jpg"))
    image.write_bytes(image.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(BenchmarkError, match=rf"{image.name}: altered"):
        Benchmark.open(sample_copy, verify="full")
    bench = Benchmark.open(sample_copy)  # quick: same size, so caught when read
    victim = next(q for q in bench.iter_questions() if image.name in q.image)
    with pytest.raises(BenchmarkError, match=rf"{image.name}: altered \(image of question {victim.id}"):
        bench.read_image(victim)
    image.unlink()
    with pytest.raises(BenchmarkError, match=rf"{image.name}: missing"):
        Benchmark.open(sample_copy)


def test_open_detects_altered_question_table_and_bad_manifest(sample_copy: Path, tmp_path: Path) -> None:
    parquet = sample_copy / "benchmark.parquet"
    data = bytearray(parquet.read_bytes())
    data[100] ^= 0xFF
    parquet.write_bytes(bytes(data))
    with pytest.raises(BenchmarkError, match=r"benchmark\.parquet: altered"):
        Benchmark.open(sample_copy)
    (sample_copy / "manifest.json").write_text("{not json")
    with pytest.raises(BenchmarkError, match=r"manifest\.json: not valid JSON"):
        Benchmark.open(sample_copy)
    with pytest.raises(BenchmarkError, match=r"manifest\.json: missing"):
        Benchmark.open(tmp_path)
    with pytest.raises(BenchmarkError, match="no such benchmark folder"):
        Benchmark.open(tmp_path / "nowhere")


def test_unknown_subset_is_named(sample: Benchmark) -> None:
    with pytest.raises(BenchmarkError, match=r"no subset 'full'.*sub"):
        list(sample.iter_questions("full"))


def test_sample_is_small_complete_and_reproducible(sample: Benchmark, tmp_path: Path) -> None:
    size = sum(f.stat().st_size for f in SAMPLE_PATH.rglob("*") if f.is_file())
    assert size < 1_000_000
    questions = list(sample.iter_questions())
    assert {q.task for q in questions} == {"SDD", "SLL"}
    assert len({q.disease for q in questions if q.task == "SDD"}) == 12
    regenerated = write_sample_benchmark(tmp_path / "again")
    # Encoded bytes (and so image names) may change with the Pillow/zlib/pyarrow build; questions may not.
    assert [replace(q, image="") for q in regenerated.iter_questions()] == [
        replace(q, image="") for q in questions
    ]
    twice = write_sample_benchmark(tmp_path / "twice")
    assert list(twice.iter_questions()) == list(regenerated.iter_questions())
    assert (twice.path / "benchmark.parquet").read_bytes() == (
        regenerated.path / "benchmark.parquet"
    ).read_bytes()


def test_extra_files_are_hashed_and_checked(tmp_path: Path) -> None:
    writer = BenchmarkWriter(tmp_path / "b", name="t")
    image = writer.add_image(_png(5))
    writer.add_question(_question("q", image))
    writer.add_file("CARD.md", b"# card\n")
    with pytest.raises(BenchmarkError, match="added twice"):
        writer.add_file("CARD.md", b"again")
    for bad in ("../x", "images", "benchmark.parquet", "a/b"):
        with pytest.raises(BenchmarkError, match="not a valid extra file name"):
            writer.add_file(bad, b"x")
    manifest = writer.close()
    assert manifest["counts"]["images"] == 1 and "CARD.md" in manifest["files"]
    bench = Benchmark.open(tmp_path / "b")
    assert bench.read_file("CARD.md") == b"# card\n" and bench.has_file("CARD.md")
    assert not bench.has_file("library.npz")
    with pytest.raises(BenchmarkError, match="not an extra file"):
        bench.read_file("library.npz")
    (tmp_path / "b" / "CARD.md").write_bytes(b"# CARD\n")
    with pytest.raises(BenchmarkError, match=r"CARD\.md: altered"):
        Benchmark.open(tmp_path / "b")


def test_patient_round_trips_and_benchmarks_without_the_column_read_as_unknown(tmp_path: Path) -> None:
    writer = BenchmarkWriter(tmp_path / "b", name="t")
    image = writer.add_image(_png(30))
    writer.add_question(_question("with", image, patient="p-1f2e"))
    writer.add_question(_question("without", image))
    writer.close()
    read = {q.id: q for q in Benchmark.open(tmp_path / "b").iter_questions()}
    assert read["with"].patient == "p-1f2e" and read["without"].patient is None
    assert read["with"].cluster == "patient:p-1f2e" and read["without"].cluster == f"image:{image}"
    # The bundled sample was written before the patient column: it still reads, with no patient.
    assert all(q.patient is None for q in Benchmark.open(SAMPLE_PATH).iter_questions())


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"bytes": 10}, "is not a sha256 and a size"),
        ({"sha256": "zz" * 32, "bytes": 10}, "is not 64 lower-case hex digits"),
        ({"sha256": "ab" * 31, "bytes": 10}, "is not 64 lower-case hex digits"),
        ({"sha256": "ab" * 32, "bytes": "ten"}, "is not a sha256 and a size"),
    ],
)
def test_a_malformed_file_entry_in_the_manifest_is_named(
    sample_copy: Path, entry: dict[str, object], complaint: str
) -> None:
    manifest_path = sample_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    name = next(n for n in manifest["files"] if n.startswith("images/"))
    manifest["files"][name] = entry
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BenchmarkError, match=rf"manifest\.json: the (entry|sha256) of '{name}' {complaint}"):
        Benchmark.open(sample_copy)
