"""`build_from_sources`: the catalogue-then-build function that the CLI, the demo and a Ray build call."""

from __future__ import annotations

from pathlib import Path

import pytest

from spinebench.catalog import SourceFolders, catalog_synthetic
from spinebench.errors import BenchmarkError
from spinebench.questions import (
    CARD_FILE,
    AggregationError,
    BuildSettings,
    build_from_sources,
    default_catalog_dir,
)
from spinebench.synth import write_synthetic_sources

KEY = b"build-from-sources-test-key"
SETTINGS = BuildSettings(encoder="pixels", sub_sdd=10, sub_sll=5)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> SourceFolders:
    sources = write_synthetic_sources(tmp_path_factory.mktemp("sources"), seed=2)
    return SourceFolders(buu=sources["buu"], csxa=sources["csxa"])


def test_the_catalogue_goes_beside_the_benchmark_and_carries_the_synthetic_mark(
    folders: SourceFolders, tmp_path: Path
) -> None:
    seen: list[Path] = []
    built = build_from_sources(
        folders,
        tmp_path / "bench",
        SETTINGS,
        key=KEY,
        workers=1,
        on_catalog=lambda _r, where: seen.append(where),
    )
    assert built.catalog_dir == default_catalog_dir(tmp_path / "bench") == tmp_path / "bench.catalog"
    assert seen == [built.catalog_dir]
    assert catalog_synthetic(built.catalog_dir) is True and built.benchmark.synthetic is True
    assert "SYNTHETIC DATA" in (tmp_path / "bench" / CARD_FILE).read_text()
    assert built.benchmark.questions["SDD"] == built.catalog.images
    assert not (tmp_path / "bench" / "catalog").exists()


def test_bad_settings_and_an_existing_benchmark_stop_before_any_cataloguing(
    folders: SourceFolders, tmp_path: Path
) -> None:
    with pytest.raises(AggregationError):
        build_from_sources(
            folders, tmp_path / "a", BuildSettings(encoder="pixels", aggregation="median"), key=KEY
        )
    out = tmp_path / "b"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    with pytest.raises(BenchmarkError, match="already holds a benchmark"):
        build_from_sources(folders, out, SETTINGS, key=KEY)
    assert not (tmp_path / "a.catalog").exists() and not (tmp_path / "b.catalog").exists()
