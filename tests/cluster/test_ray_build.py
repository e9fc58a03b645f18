"""`spinebench build --ray` across a two-node local cluster: the same benchmark bytes as a local build, and a
rerun that redoes nothing the content-hash caches hold."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from spinebench.catalog import SourceFolders
from spinebench.cluster import RayConversions, RayEncoding
from spinebench.questions import BuildSettings, build_from_sources

KEY = b"a-key-for-the-ray-build-tests"
# With SSG and marked levels: the graded slices' source sizes (to place the marks) come back from Ray too.
SETTINGS = BuildSettings(
    encoder="pixels", sub_sdd=20, sub_sll=8, synthetic=True, tasks=("SDD", "SLL", "SSG"), mark_levels=True
)


class _CountingEncoding:
    """RayEncoding that remembers how many images it was asked to embed."""

    def __init__(self, inner: RayEncoding) -> None:
        self.inner = inner
        self.asked = 0

    def __call__(self, todo: list[str], files: Mapping[str, Path]) -> Iterator[tuple[list[str], np.ndarray]]:
        self.asked += len(todo)
        return self.inner(todo, files)


def test_a_ray_build_is_byte_identical_to_a_local_build_and_resumes_from_the_caches(
    ray_cluster: str, synthetic_sources: SourceFolders, tmp_path: Path
) -> None:
    local = build_from_sources(synthetic_sources, tmp_path / "local", SETTINGS, key=KEY, workers=1)
    encoding = _CountingEncoding(RayEncoding(ray_cluster, "pixels", batch_size=16, actors=2))
    catalog = tmp_path / "ray.catalog"
    remote = build_from_sources(
        synthetic_sources,
        tmp_path / "ray",
        SETTINGS,
        key=KEY,
        catalog_dir=catalog,
        conversions=RayConversions(ray_cluster),
        remote_encoding=encoding,
    )
    assert remote.catalog.converted == local.catalog.converted > 0
    # Slices kept for grading alone are not embedded: no hard negative is drawn for them.
    assert encoding.asked == remote.catalog.images - remote.catalog.graded_only > 0
    assert remote.benchmark.questions["SSG"] > 0
    for name in ("benchmark.parquet", "manifest.json", "library.npz", "CARD.md"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert (tmp_path / "ray.embeddings.npz").read_bytes() == (tmp_path / "local.embeddings.npz").read_bytes()

    # Again into a new benchmark from the same catalogue folder: nothing is decoded or embedded twice.
    encoding.asked = 0
    again = build_from_sources(
        synthetic_sources,
        tmp_path / "again",
        SETTINGS,
        key=KEY,
        catalog_dir=catalog,
        conversions=RayConversions(ray_cluster),
        remote_encoding=encoding,
    )
    assert again.catalog.converted == 0 and again.catalog.reused == remote.catalog.converted
    assert encoding.asked == 0
    assert (tmp_path / "again" / "benchmark.parquet").read_bytes() == (
        tmp_path / "local" / "benchmark.parquet"
    ).read_bytes()
