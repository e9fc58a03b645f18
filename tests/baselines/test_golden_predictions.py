"""Every baseline answers as it did before the baselines moved to the task side (golden file).

The golden file was recorded with the pre-move code; `python tests/baselines/test_golden_predictions.py`
rewrites it. Rewrite it only when the benchmark a baseline answers on changed (the demo build's manifest
hash below says so), never to make a baseline's own change pass.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.catalog import SourceFolders, build_catalog
from spinebench.questions import BuildSettings, build_benchmark
from spinebench.run import EvalSettings, evaluate
from spinebench.synth import write_synthetic_sources

GOLDEN = Path(__file__).parent / "data" / "golden_predictions.json"
SAMPLE_MODELS = ("random", "prior", "constant:Healthy", "constant:A", "constant:L4/L5,L5/S1")
DEMO_MODELS = ("random", "prior", "constant:Healthy", "knn")
KEY = b"spinebench-demo-key (synthetic data only)"


def build_demo(root: Path) -> Benchmark:
    """The demo's benchmark at scale 1, with the torch-free `pixels` encoder."""
    folders = write_synthetic_sources(root / "sources", seed=0, scale=1)
    sources = SourceFolders(**{name: folders[name] for name in ("vindr", "rsna", "csxa", "buu")})
    build_catalog(sources.readers(), root / "catalog", key=KEY, workers=1)
    settings = BuildSettings(seed=0, encoder="pixels", name="spinebench-demo", synthetic=True)
    build_benchmark(root / "catalog", root / "bench", settings)
    return Benchmark.open(root / "bench")


def answers(bench: Benchmark, model: str, out: Path) -> dict[str, list[Any]]:
    evaluate(bench, out, EvalSettings(model=model, concurrency=4))
    rows = {}
    for line in (out / "predictions.jsonl").read_text().splitlines():
        record = json.loads(line)
        rows[record["question_id"]] = [record["response"], record["letters"], record["stage"]]
    return dict(sorted(rows.items()))


def _out(root: Path, bench: str, model: str) -> Path:
    return root / f"{bench}-{model.replace(':', '_').replace('/', '_').replace(',', '_')}"


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(GOLDEN.read_text())
    return loaded


@pytest.mark.parametrize("model", SAMPLE_MODELS)
def test_baselines_answer_the_bundled_sample_as_before(
    model: str, golden: dict[str, Any], tmp_path: Path
) -> None:
    assert answers(Benchmark.open(SAMPLE_PATH), model, tmp_path / "run") == golden["sample"][model]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.mark.parametrize("model", DEMO_MODELS)
def test_baselines_answer_the_demo_benchmark_as_before(
    model: str, demo: Benchmark, golden: dict[str, Any], tmp_path: Path
) -> None:
    assert demo.manifest_sha256 == golden["demo"]["manifest_sha256"], (
        "the demo benchmark itself changed (build or synthetic data): re-record the golden file with "
        "`python tests/baselines/test_golden_predictions.py` after checking that no baseline changed"
    )
    assert answers(demo, model, tmp_path / "run") == golden["demo"][model]


def record(path: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        demo = build_demo(root / "demo")
        recorded: dict[str, Any] = {"sample": {}, "demo": {"manifest_sha256": demo.manifest_sha256}}
        for model in SAMPLE_MODELS:
            recorded["sample"][model] = answers(Benchmark.open(SAMPLE_PATH), model, _out(root, "s", model))
        for model in DEMO_MODELS:
            recorded["demo"][model] = answers(demo, model, _out(root, "d", model))
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    record(Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN)
