from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from PIL import Image

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.export import export_hf
from spinebench.prompts import PAPER, render_prompt
from spinebench.testing import require


@pytest.fixture(scope="module")
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")


@pytest.fixture
def offline_datasets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    datasets = require("datasets")
    # datasets reads these once at import; another test may have imported it first
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    return datasets


def test_hf_parquet_loads_through_datasets_with_images_decoded(
    sample: Benchmark, tmp_path: Path, offline_datasets: Any
) -> None:
    result = export_hf(sample, tmp_path / "hf")
    files = str(tmp_path / "hf" / "data" / "*.parquet")
    ds = offline_datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=tmp_path / "c")
    questions = list(sample.iter_questions())
    assert len(ds) == result.questions == len(questions) == 38
    assert type(ds.features["image"]).__name__ == "Image"
    row = ds[len(ds) - 1]
    question = questions[-1]
    assert isinstance(row["image"], Image.Image) and row["image"].size == (160, 160)
    assert row["id"] == question.id and row["task"] == "SLL"
    assert row["options"] == list(question.options) and row["answer"] == list(question.answer)
    assert row["answer_text"] == list(question.answer_texts)
    assert row["subsets"] == list(question.subsets)
    assert row["prompt"] == render_prompt(question, PAPER)
    # the dataset card's YAML header lets the folder itself be loaded, split "test"
    card = offline_datasets.load_dataset(str(tmp_path / "hf"), split="test", cache_dir=tmp_path / "c2")
    assert len(card) == 38 and isinstance(card[0]["image"], Image.Image)


def test_shards_hold_at_most_shard_rows_in_benchmark_order(sample: Benchmark, tmp_path: Path) -> None:
    result = export_hf(sample, tmp_path, shard_rows=10)
    names = sorted(path.name for path in (tmp_path / "data").iterdir())
    assert names == [f"test-{i:05d}-of-00004.parquet" for i in range(4)]
    ids = [
        i for name in names for i in pq.read_table(tmp_path / "data" / name, columns=["id"])["id"].to_pylist()
    ]
    assert ids == [question.id for question in sample.iter_questions()]
    assert [pq.ParquetFile(tmp_path / "data" / name).metadata.num_rows for name in names] == [10, 10, 10, 8]
    assert result.images == 24 and (tmp_path / "README.md") in result.files


def test_schema_declares_the_image_feature_for_datasets(sample: Benchmark, tmp_path: Path) -> None:
    export_hf(sample, tmp_path)
    schema = pq.read_schema(next((tmp_path / "data").iterdir()))
    features = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    assert features["image"] == {"_type": "Image"}
    assert list(features) == schema.names
    assert str(schema.field("image").type) == "struct<bytes: binary, path: string>"
    table = pq.read_table(next((tmp_path / "data").iterdir()))
    first = table.slice(0, 1).to_pylist()[0]
    assert first["image"]["bytes"] == sample.read_image(next(sample.iter_questions()))
