"""Embeddings: one L2-normalised vector per image, from a chosen image encoder, cached by image content hash.

Encoders (`make_encoder`): `efficientnet-lite0` (default, offline, torch), `siglip2:<path-or-hub-id>` (the
paper's encoder, transformers), `pixels` (a thumbnail; for tests, not a real encoder). torch and transformers
are imported only when an encoder first runs. `quantise` turns unit vectors into int16 ones whose dot
products are exact on any BLAS; the embeddings file (`<BENCH>.embeddings.npz`) stores them with the encoder's
provenance, so a benchmark can be rebuilt without the encoder.
"""

from spinebench.embeddings._cache import EmbeddingCacheWarning, cache_folder
from spinebench.embeddings._embed import (
    CatalogEncoding,
    EmbeddingError,
    RemoteEncoding,
    embed_catalog,
    embed_images,
)
from spinebench.embeddings._encoder import (
    DEFAULT_ENCODER,
    ENCODER_HELP,
    Encoder,
    EncoderError,
    make_encoder,
)
from spinebench.embeddings._file import (
    EMBEDDINGS_SUFFIX,
    EmbeddingsFile,
    EmbeddingsFileError,
    embeddings_path,
    embeddings_to_bytes,
    read_embeddings,
)
from spinebench.embeddings._provenance import EncoderProvenance, describe_encoder
from spinebench.embeddings._quantise import (
    EXACT_FLOAT32,
    SCALE,
    QuantisationError,
    Quantised,
    check_exact_range,
    dequantise,
    quantise,
)

__all__ = [
    "DEFAULT_ENCODER",
    "EMBEDDINGS_SUFFIX",
    "ENCODER_HELP",
    "EXACT_FLOAT32",
    "SCALE",
    "CatalogEncoding",
    "EmbeddingCacheWarning",
    "EmbeddingError",
    "EmbeddingsFile",
    "EmbeddingsFileError",
    "Encoder",
    "EncoderError",
    "EncoderProvenance",
    "QuantisationError",
    "Quantised",
    "RemoteEncoding",
    "cache_folder",
    "check_exact_range",
    "dequantise",
    "describe_encoder",
    "embed_catalog",
    "embed_images",
    "embeddings_path",
    "embeddings_to_bytes",
    "make_encoder",
    "quantise",
    "read_embeddings",
]
