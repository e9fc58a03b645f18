"""Embeddings: one L2-normalised vector per image, from a chosen image encoder, cached by image content hash.

Encoders (`make_encoder`): `efficientnet-lite0` (default, offline, torch), `siglip2:<path-or-hub-id>` (the
paper's encoder, transformers), `pixels` (a thumbnail; for tests, not a real encoder). torch and transformers
are imported only when an encoder first runs.
"""

from spinebench.embeddings._cache import EmbeddingCacheWarning, cache_folder
from spinebench.embeddings._embed import EmbeddingError, embed_catalog, embed_images
from spinebench.embeddings._encoder import (
    DEFAULT_ENCODER,
    ENCODER_HELP,
    Encoder,
    EncoderError,
    make_encoder,
)

__all__ = [
    "DEFAULT_ENCODER",
    "ENCODER_HELP",
    "EmbeddingCacheWarning",
    "EmbeddingError",
    "Encoder",
    "EncoderError",
    "cache_folder",
    "embed_catalog",
    "embed_images",
    "make_encoder",
]
