"""embed_images / embed_catalog and the embedding cache, with the torch-free `pixels` encoder."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spinebench.embeddings._embed as embed_module
from spinebench.catalog import CatalogEntry
from spinebench.embeddings import (
    EmbeddingCacheWarning,
    EmbeddingError,
    EncoderError,
    cache_folder,
    embed_catalog,
    embed_images,
    make_encoder,
)
from spinebench.synth import PhantomSpec, render_phantom

FINDINGS = ("Cervical lordosis", "Cervical kyphosis", "Spinal canal stenosis", "Osteophytes", "Healthy")


class CountingEncoder:
    """The pixel encoder under another name (and, if asked, padded to another dim), counting its work."""

    def __init__(self, name: str = "counting", dim: int = 1024, fail_on_call: int | None = None) -> None:
        self._pixels = make_encoder("pixels")
        self._name, self._dim = name, dim
        self.fail_on_call = fail_on_call
        self.calls = 0
        self.images = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("encoder crashed")
        self.images += len(images)
        vectors = self._pixels.encode(images)
        if self._dim != vectors.shape[1]:
            vectors = np.resize(vectors, (len(images), self._dim))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors


def png_bytes(finding: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    render_phantom(PhantomSpec(finding, seed=seed, size=64)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def library() -> dict[str, bytes]:
    """Twelve PNG phantoms by content hash, the way the catalogue names images."""
    images = [png_bytes(FINDINGS[index % len(FINDINGS)], seed=index) for index in range(12)]
    return {hashlib.sha256(data).hexdigest(): data for data in images}


def loader(library: dict[str, bytes], log: list[str] | None = None) -> Callable[[str], Image.Image]:
    def load(image_id: str) -> Image.Image:
        if log is not None:
            log.append(image_id)
        return Image.open(io.BytesIO(library[image_id]))

    return load


def parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.npz"))


def test_vectors_follow_the_ids_and_a_rerun_encodes_nothing(
    library: dict[str, bytes], tmp_path: Path
) -> None:
    ids = list(library)
    encoder = CountingEncoder()
    first = embed_images(ids, loader(library), encoder, cache_dir=tmp_path, batch_size=5, progress=True)
    assert first.shape == (12, 1024) and first.dtype == np.float32
    assert (encoder.calls, encoder.images) == (3, 12)  # batches of 5, 5, 2
    expected = make_encoder("pixels").encode([Image.open(io.BytesIO(library[i])) for i in ids])
    np.testing.assert_allclose(first, expected, atol=1e-6)

    log: list[str] = []
    again = embed_images(ids[::-1], loader(library, log), encoder, cache_dir=tmp_path)
    assert encoder.images == 12 and log == []  # nothing loaded, nothing encoded
    assert np.array_equal(again, first[::-1])
    header = json.loads((cache_folder(tmp_path, "counting") / "encoder.json").read_text())
    assert header["name"] == "counting" and header["dim"] == 1024 and header["versions"]["numpy"]


def test_only_new_images_are_encoded_and_repeated_ids_once(library: dict[str, bytes], tmp_path: Path) -> None:
    ids = list(library)
    encoder = CountingEncoder()
    embed_images(ids[:7], loader(library), encoder, cache_dir=tmp_path)
    vectors = embed_images(ids + ids[:2], loader(library), encoder, cache_dir=tmp_path)
    assert encoder.images == 12
    assert vectors.shape == (14, 1024)
    assert np.array_equal(vectors[12:], vectors[:2])


def test_the_cache_survives_a_new_process(library: dict[str, bytes], tmp_path: Path) -> None:
    ids = list(library)
    first = embed_images(ids, loader(library), CountingEncoder(), cache_dir=tmp_path / "cache")
    np.save(tmp_path / "first.npy", first)
    (tmp_path / "ids.json").write_text(json.dumps(ids))
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        import numpy as np
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_embedding_cache import CountingEncoder
        from spinebench.embeddings import embed_images

        root = Path({str(tmp_path)!r})
        def load(image_id):
            raise AssertionError("a cached image was loaded")
        encoder = CountingEncoder()
        ids = json.loads((root / "ids.json").read_text())
        vectors = embed_images(ids, load, encoder, cache_dir=root / "cache")
        assert encoder.calls == 0
        assert np.array_equal(vectors, np.load(root / "first.npy"))
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_encoders_keep_separate_caches(library: dict[str, bytes], tmp_path: Path) -> None:
    ids = list(library)
    embed_images(ids, loader(library), CountingEncoder("encoder-a"), cache_dir=tmp_path)
    other = CountingEncoder("encoder-b")
    embed_images(ids, loader(library), other, cache_dir=tmp_path)
    assert other.images == 12
    assert cache_folder(tmp_path, "encoder-a") != cache_folder(tmp_path, "encoder-b")
    assert cache_folder(tmp_path, "siglip2:./a/b") != cache_folder(tmp_path, "siglip2:a-b")


def test_a_folder_of_another_encoder_or_dim_is_not_mixed_in(
    library: dict[str, bytes], tmp_path: Path
) -> None:
    ids = list(library)
    embed_images(ids, loader(library), CountingEncoder("same-name", dim=1024), cache_dir=tmp_path)
    wider = CountingEncoder("same-name", dim=1536)  # e.g. other weights put at the same model path
    with pytest.warns(EmbeddingCacheWarning, match="dim 1024"):
        vectors = embed_images(ids, loader(library), wider, cache_dir=tmp_path)
    assert wider.images == 12 and vectors.shape == (12, 1536)

    folder = cache_folder(tmp_path, "same-name")
    header = json.loads((folder / "encoder.json").read_text())
    (folder / "encoder.json").write_text(json.dumps({**header, "name": "someone-else"}))
    again = CountingEncoder("same-name", dim=1536)
    with pytest.warns(EmbeddingCacheWarning, match="someone-else"):
        embed_images(ids, loader(library), again, cache_dir=tmp_path)
    assert again.images == 12
    assert json.loads((folder / "encoder.json").read_text())["name"] == "same-name"


def test_a_corrupt_shard_is_rebuilt_with_a_warning(library: dict[str, bytes], tmp_path: Path) -> None:
    ids = list(library)
    encoder = CountingEncoder()
    embed_images(ids[:5], loader(library), encoder, cache_dir=tmp_path)
    embed_images(ids[5:], loader(library), encoder, cache_dir=tmp_path)
    folder = cache_folder(tmp_path, "counting")
    first, second = parts(folder)
    second.write_bytes(second.read_bytes()[:100])  # a torn write
    with pytest.warns(EmbeddingCacheWarning, match="cannot be read"):
        vectors = embed_images(ids, loader(library), encoder, cache_dir=tmp_path)
    assert encoder.images == 12 + 7  # only the lost shard's images again
    assert not second.exists() and first.exists()
    reference = embed_images(ids, loader(library), CountingEncoder(), cache_dir=None)
    assert np.array_equal(vectors, reference)


def test_an_unreadable_header_is_rebuilt_with_a_warning(library: dict[str, bytes], tmp_path: Path) -> None:
    ids = list(library)
    embed_images(ids, loader(library), CountingEncoder(), cache_dir=tmp_path)
    (cache_folder(tmp_path, "counting") / "encoder.json").write_text("{not json")
    encoder = CountingEncoder()
    with pytest.warns(EmbeddingCacheWarning, match="cannot be read"):
        embed_images(ids, loader(library), encoder, cache_dir=tmp_path)
    assert encoder.images == 12
    encoder_after = CountingEncoder()
    embed_images(ids, loader(library), encoder_after, cache_dir=tmp_path)
    assert encoder_after.images == 0


def test_work_done_before_a_crash_is_kept(
    library: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = list(library)
    monkeypatch.setattr(embed_module, "SAVE_EVERY_IMAGES", 10_000)  # only the final save can keep them
    crashing = CountingEncoder(fail_on_call=3)
    with pytest.raises(RuntimeError, match="encoder crashed"):
        embed_images(ids, loader(library), crashing, cache_dir=tmp_path, batch_size=4)
    resumed = CountingEncoder()
    embed_images(ids, loader(library), resumed, cache_dir=tmp_path, batch_size=4)
    assert resumed.images == 4  # the first two batches of 4 were saved


def test_many_saves_are_merged_into_one_shard(
    library: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = list(library)
    monkeypatch.setattr(embed_module, "SAVE_EVERY_IMAGES", 1)
    vectors = embed_images(ids, loader(library), CountingEncoder(), cache_dir=tmp_path, batch_size=1)
    folder = cache_folder(tmp_path, "counting")
    assert len(parts(folder)) == 12  # 12 shards are not yet too many

    more = {
        hashlib.sha256(data).hexdigest(): data for data in (png_bytes("Healthy", s) for s in range(50, 55))
    }
    library.update(more)
    embed_images(list(more), loader(library), CountingEncoder(), cache_dir=tmp_path, batch_size=1)
    assert len(parts(folder)) == 1
    encoder = CountingEncoder()
    assert np.array_equal(embed_images(ids, loader(library), encoder, cache_dir=tmp_path), vectors)
    assert encoder.images == 0


def test_a_cache_that_cannot_be_written_costs_the_cache_not_the_run(
    library: dict[str, bytes], tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way")  # the cache folder would have to be inside a file
    with pytest.warns(EmbeddingCacheWarning, match="cannot write"):
        vectors = embed_images(list(library), loader(library), CountingEncoder(), cache_dir=blocked)
    assert vectors.shape == (12, 1024)
    assert blocked.read_text() == "in the way"


def test_no_cache_dir_writes_nothing(library: dict[str, bytes], tmp_path: Path) -> None:
    encoder = CountingEncoder()
    embed_images(list(library), loader(library), encoder, cache_dir=None)
    embed_images(list(library), loader(library), encoder, cache_dir=None)
    assert encoder.images == 24
    assert list(tmp_path.iterdir()) == []


def test_no_ids_give_an_empty_matrix(tmp_path: Path) -> None:
    vectors = embed_images([], loader({}), CountingEncoder(), cache_dir=tmp_path)
    assert vectors.shape == (0, 1024) and vectors.dtype == np.float32


def test_an_encoder_breaking_its_contract_is_an_error(library: dict[str, bytes]) -> None:
    class Short(CountingEncoder):
        def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
            return super().encode(images)[:, :10]

    with pytest.raises(EncoderError, match=r"shape \(12, 10\)"):
        embed_images(list(library), loader(library), Short(), cache_dir=None, batch_size=12)


def catalog_of(library: dict[str, bytes], root: Path) -> list[CatalogEntry]:
    entries = []
    for image_id, data in library.items():
        relative = f"images/{image_id[:2]}/{image_id}.png"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
        entries.append(
            CatalogEntry(
                image_id, relative, "synthetic", "xray", "lateral", (), image_id[:8], None, None, 64, 64
            )
        )
    return entries


def test_embed_catalog_reads_each_entrys_image(library: dict[str, bytes], tmp_path: Path) -> None:
    entries = catalog_of(library, tmp_path / "catalog")
    encoder = CountingEncoder()
    vectors = embed_catalog(entries, tmp_path / "catalog", encoder, cache_dir=tmp_path / "cache")
    direct = embed_images(list(library), loader(library), CountingEncoder(), cache_dir=None)
    assert np.array_equal(vectors, direct)
    assert encoder.images == 12
    embed_catalog(entries, tmp_path / "catalog", encoder, cache_dir=tmp_path / "cache")
    assert encoder.images == 12


def test_embed_catalog_names_an_unreadable_image_file(library: dict[str, bytes], tmp_path: Path) -> None:
    entries = catalog_of(library, tmp_path)
    broken = tmp_path / entries[4].image
    broken.write_bytes(b"not a png")
    with pytest.raises(EmbeddingError, match=str(broken)):
        embed_catalog(entries, tmp_path, CountingEncoder(), cache_dir=tmp_path / "cache")
    broken.write_bytes(library[entries[4].image_id])
    encoder = CountingEncoder()
    embed_catalog(entries, tmp_path, encoder, cache_dir=tmp_path / "cache")
    assert encoder.images == 12
