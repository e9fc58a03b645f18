"""The build's reproducibility promises: exact similarities whatever the block size, catalogue order or BLAS
thread count; the paper's protocol by default and honest names otherwise; rebuilding from the embeddings
file with no encoder; synthetic provenance carried by the catalogue."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import spinebench.questions._build as build_module
from spinebench.benchmark import Benchmark
from spinebench.catalog import CATALOG_NAME, Reader, build_catalog, catalog_synthetic, read_catalog
from spinebench.embeddings import (
    EmbeddingsFile,
    EncoderError,
    EncoderProvenance,
    embeddings_path,
    embeddings_to_bytes,
    quantise,
    read_embeddings,
)
from spinebench.questions import (
    CARD_FILE,
    LIBRARY_FILE,
    PAPER_PROTOCOL,
    BuildSettings,
    build_benchmark,
    library_from_bytes,
)
from spinebench.sources import read_buu, read_csxa, read_rsna_lumbar, read_vindr
from spinebench.synth import write_synthetic_sources

KEY = b"reproducible-build-test-key"
BASE = BuildSettings(encoder="pixels", sub_sdd=20, sub_sll=8)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repro")
    sources = write_synthetic_sources(root / "sources", seed=5)
    readers: dict[str, tuple[Reader, Path]] = {
        "vindr": (read_vindr, sources["vindr"]),
        "rsna": (partial(read_rsna_lumbar, min_severity="Moderate"), sources["rsna"]),
        "csxa": (read_csxa, sources["csxa"]),
        "buu": (read_buu, sources["buu"]),
    }
    build_catalog(readers, root / "catalog", key=KEY, workers=1, synthetic=True)
    return root / "catalog"


@pytest.fixture(scope="module")
def shuffled(catalog: Path) -> Path:
    """The same catalogue rows in another order (and without the recorded provenance)."""
    copy = catalog.with_name("shuffled")
    shutil.copytree(catalog, copy)
    table = pq.read_table(catalog / CATALOG_NAME)
    order = np.random.default_rng(11).permutation(table.num_rows)
    pq.write_table(table.take(order).replace_schema_metadata(None), copy / CATALOG_NAME)
    return copy


# Run in a fresh interpreter so OPENBLAS_NUM_THREADS takes effect before numpy loads OpenBLAS.
_PROBE = """
import hashlib, json, sys
from pathlib import Path
import numpy as np
from spinebench.embeddings import quantise
from spinebench.questions import Aggregation, BuildSettings, build_benchmark, class_similarities

catalog, shuffled, out = (Path(arg) for arg in sys.argv[1:4])
digests = {}
def digest(folder):
    names = ("benchmark.parquet", "library.npz")
    return [hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names]
for block in (1, 7, 4096):
    target = out / f"block-{block}"
    build_benchmark(catalog, target, BuildSettings(encoder="pixels", sub_sdd=20, sub_sll=8, block=block))
    digests[f"catalogue block {block}"] = digest(target)
target = out / "shuffled"
build_benchmark(shuffled, target, BuildSettings(encoder="pixels", sub_sdd=20, sub_sll=8, synthetic=True))
digests["shuffled catalogue"] = digest(target)
# A GEMM big enough for OpenBLAS to split it over threads, with many near-equal similarities.
rng = np.random.default_rng(0)
floats = rng.normal(size=(600, 384))
vectors = quantise(floats / np.linalg.norm(floats, axis=1, keepdims=True))
codes = np.repeat(np.arange(11), 40)
for name in ("max", "mean", "topk:5"):
    for block in (1, 7, 4096):
        parsed = Aggregation.parse(name)
        keys = np.arange(600)
        scores = class_similarities(vectors, keys, vectors[:440], codes, keys[:440], 11, parsed, block=block)
        digests[f"arrays {name} block {block}"] = [hashlib.sha256(scores.tobytes()).hexdigest()]
print(json.dumps(digests))
"""


def _probe(catalog: Path, shuffled: Path, out: Path, threads: int) -> dict[str, list[str]]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(catalog), str(shuffled), str(out)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    digests: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return digests


def test_questions_are_byte_identical_across_blocks_orders_and_blas_threads(
    catalog: Path, shuffled: Path, tmp_path: Path
) -> None:
    one = _probe(catalog, shuffled, tmp_path / "t1", threads=1)
    two = _probe(catalog, shuffled, tmp_path / "t2", threads=2)
    assert one == two
    builds = {tuple(value) for key, value in one.items() if not key.startswith("arrays")}
    assert len(builds) == 1, one  # blocks 1, 7, 4096 and the shuffled catalogue: the same bytes
    for name in ("max", "mean", "topk:5"):
        assert len({tuple(v) for k, v in one.items() if k.startswith(f"arrays {name} ")}) == 1


def test_default_build_follows_the_paper_and_other_aggregations_are_named(
    catalog: Path, tmp_path: Path
) -> None:
    default = build_benchmark(catalog, tmp_path / "paper", BASE)
    assert default.manifest["build"]["aggregation"] == "max"
    assert default.manifest["build"]["protocol"] == PAPER_PROTOCOL
    card = (tmp_path / "paper" / CARD_FILE).read_text()
    assert f"Protocol `{PAPER_PROTOCOL}`" in card and "departs from" not in card
    assert "Ties at the distractor cut" in card
    topk = build_benchmark(catalog, tmp_path / "topk", replace(BASE, aggregation="topk:5"))
    protocol = topk.manifest["build"]["protocol"]
    assert protocol != PAPER_PROTOCOL and "topk:5" in protocol
    card = (tmp_path / "topk" / CARD_FILE).read_text()
    assert f"Protocol `{protocol}`" in card and "departs from the paper's protocol" in card


def test_excluding_the_same_patient_is_a_named_variant_and_the_card_counts_its_changes(
    catalog: Path, tmp_path: Path
) -> None:
    """Vectors where a patient's images look alike (as adjacent slices do): with only the image itself left
    out, a sibling slice decides the distractors; leaving the patient out changes them."""
    entries = read_catalog(catalog)
    rng = np.random.default_rng(3)
    groups = {key: rng.normal(size=64) for key in {e.patient or e.study or e.image_id for e in entries}}
    floats = np.stack(
        [groups[e.patient or e.study or e.image_id] + 0.1 * rng.normal(size=64) for e in entries]
    )
    vectors = quantise(floats / np.linalg.norm(floats, axis=1, keepdims=True))
    provenance = EncoderProvenance("crafted", "crafted", 64, None, None)
    file = tmp_path / "crafted.embeddings.npz"
    file.write_bytes(
        embeddings_to_bytes(EmbeddingsFile.of([e.image_id for e in entries], vectors, provenance))
    )

    self_only = build_benchmark(catalog, tmp_path / "self", replace(BASE, embeddings=file))
    built = build_benchmark(
        catalog, tmp_path / "patient", replace(BASE, embeddings=file, exclude_same_patient=True)
    )
    build = built.manifest["build"]
    assert build["exclude_same_patient"] is True and "exclude=same-patient" in build["protocol"]
    assert self_only.manifest["build"]["protocol"] == PAPER_PROTOCOL
    card = (tmp_path / "patient" / CARD_FILE).read_text()
    line = next(line for line in card.splitlines() if "own patient out of the library vote" in line)
    changed = int(line.split("changed the distractors of ")[1].split()[0])
    before = {
        q.id: set(q.options) for q in Benchmark.open(tmp_path / "self").iter_questions() if q.task == "SDD"
    }
    after = {
        q.id: set(q.options) for q in Benchmark.open(tmp_path / "patient").iter_questions() if q.task == "SDD"
    }
    assert changed == sum(before[i] != after[i] for i in before) > 0


def test_a_rebuild_from_the_embeddings_file_needs_no_encoder_and_gives_the_same_benchmark(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_benchmark(catalog, tmp_path / "first", BASE)
    assert first.embeddings == embeddings_path(tmp_path / "first") and first.embeddings.is_file()
    assert not (tmp_path / "first" / first.embeddings.name).exists()  # beside the benchmark, not inside
    stored = read_embeddings(first.embeddings)
    assert stored.vectors.dtype == np.int16 and stored.encoder.name == "pixels"
    library = library_from_bytes((tmp_path / "first" / LIBRARY_FILE).read_bytes())
    assert set(library.image_ids.tolist()) <= set(stored.image_ids.tolist())

    def no_encoder(*_args: object, **_kwargs: object) -> None:
        raise EncoderError("no encoder is installed here")

    monkeypatch.setattr(build_module, "make_encoder", no_encoder)
    with pytest.raises(EncoderError):  # proof that the rebuild below cannot have used one
        build_benchmark(catalog, tmp_path / "needs-encoder", BASE)
    # Another machine: the embedding cache is gone too.
    shutil.rmtree(catalog / "embeddings-cache", ignore_errors=True)
    for run in ("second", "third"):
        settings = replace(BASE, encoder="efficientnet-lite0", embeddings=first.embeddings)
        build_benchmark(catalog, tmp_path / run, settings)
        for name in ("benchmark.parquet", LIBRARY_FILE, CARD_FILE, "manifest.json"):
            assert (tmp_path / run / name).read_bytes() == (tmp_path / "first" / name).read_bytes(), name
        assert embeddings_path(tmp_path / run).read_bytes() == first.embeddings.read_bytes()


def test_the_card_states_the_encoder_weights_and_torch(catalog: Path, tmp_path: Path) -> None:
    build_benchmark(catalog, tmp_path / "b", BASE)
    card = (tmp_path / "b" / CARD_FILE).read_text()
    assert "Image encoder: `pixels`" in card and "no weights file" in card and "torch not used" in card
    encoder = Benchmark.open(tmp_path / "b").manifest["build"]["encoder"]
    assert encoder["spec"] == "pixels" and encoder["weights_sha256"] is None and encoder["torch"] is None


def test_synthetic_provenance_travels_through_the_catalogue(
    catalog: Path, shuffled: Path, tmp_path: Path
) -> None:
    assert catalog_synthetic(catalog) is True and catalog_synthetic(shuffled) is None
    built = build_benchmark(catalog, tmp_path / "b", BASE)
    assert built.manifest["build"]["synthetic"] is True
    assert "SYNTHETIC DATA" in (tmp_path / "b" / CARD_FILE).read_text()
    unknown = build_benchmark(shuffled, tmp_path / "u", BASE)
    assert unknown.manifest["build"]["synthetic"] is None
    assert "was not recorded" in (tmp_path / "u" / CARD_FILE).read_text()
