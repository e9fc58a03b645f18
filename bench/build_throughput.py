"""Throughput of `spinebench build`: embedding (images/second) and hard-negative selection (questions/second),
at 10,000 and 100,000 images.

Embedding runs the whole `embed_images` path: PNG files read and decoded from disk (phantoms of
--image-side pixels, the size standardised catalogue images reach), letterboxed, encoded, and saved to the
embedding cache. Two cases per size:

- cold: nothing cached, every image encoded. A size above --full-limit is not run; its time is estimated as
  size / (images per second of the largest size that was run, or of a timed sample of --sample images), and
  the row says so. Model loading is timed apart, once.
- cached: a rerun with every vector in the cache (filled with random unit vectors, saved the way a real run
  saves them), so nothing is loaded or encoded: the cost of finding the vectors again.

    python bench/build_throughput.py                                  # efficientnet-lite0 on the CPU
    python bench/build_throughput.py --encoder pixels --full-limit 100000
    python bench/build_throughput.py --device cuda --batch-size 128 --full-limit 100000
    python bench/build_throughput.py --skip-embedding                 # hard negatives only

Hard-negative selection (`bench_hard_negatives`): questions/second of quantising and `select_hard_negatives`
(exact int16 similarities) for random unit vectors against a 2,400-image library (200 per answer class), per
aggregation; the target is 100,000 queries in under 5 s on 2 cores with `max`:

    OPENBLAS_NUM_THREADS=2 taskset -c 0,1 python bench/build_throughput.py --skip-embedding --dim 1280
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from spinebench.embeddings import Encoder, embed_images, make_encoder
from spinebench.embeddings._cache import EmbeddingCache
from spinebench.embeddings._embed import SAVE_EVERY_IMAGES
from spinebench.synth import PhantomSpec, render_phantom
from spinebench.taxonomy import ANSWER_CLASSES

POOL_SIZE = 64


@dataclass(frozen=True, slots=True)
class EmbeddingRow:
    images: int
    mode: str  # "cold" or "cached"
    seconds: float
    note: str

    @property
    def per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("inf")


def write_pool(folder: Path, side: int) -> list[Path]:
    """POOL_SIZE phantom PNGs (RGB, like catalogue images) of every answer class, served under many ids."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index in range(POOL_SIZE):
        finding = ANSWER_CLASSES[index % len(ANSWER_CLASSES)]
        file = folder / f"{index:03d}.png"
        render_phantom(PhantomSpec(finding, size=side, seed=index)).save(file, format="PNG")
        files.append(file)
    return files


def pool_loader(files: Sequence[Path]) -> Callable[[str], Image.Image]:
    def load(image_id: str) -> Image.Image:
        with Image.open(files[int(image_id, 16) % len(files)]) as image:
            image.load()
            return image

    return load


def image_ids(count: int, offset: int = 0) -> list[str]:
    """Distinct 64-hex ids, like content hashes."""
    return [f"{offset + index:064x}" for index in range(count)]


def time_cold(
    count: int, offset: int, load: Callable[[str], Image.Image], encoder: Encoder, root: Path
) -> float:
    """Seconds to embed `count` images no cache has seen, saving them to a fresh cache."""
    cache = Path(tempfile.mkdtemp(dir=root, prefix="cold-"))
    started = time.perf_counter()
    embed_images(image_ids(count, offset), load, encoder, cache_dir=cache, progress=True)
    return time.perf_counter() - started


def time_cached(count: int, encoder: Encoder, root: Path) -> float:
    """Seconds to get `count` vectors back from a cache that holds them all (nothing loaded or encoded)."""
    cache_dir = Path(tempfile.mkdtemp(dir=root, prefix="warm-"))
    cache = EmbeddingCache(cache_dir, encoder.name, encoder.dim)
    ids = image_ids(count)
    rng = np.random.default_rng(0)
    for start in range(0, count, SAVE_EVERY_IMAGES):  # the shards a real run leaves, then its merge
        part = rng.standard_normal((min(SAVE_EVERY_IMAGES, count - start), encoder.dim), dtype=np.float32)
        cache.add(ids[start : start + len(part)], part / np.linalg.norm(part, axis=1, keepdims=True))
    cache.compact()

    def never(image_id: str) -> Image.Image:
        raise AssertionError(f"{image_id} was loaded although it is cached")

    started = time.perf_counter()
    vectors = embed_images(ids, never, encoder, cache_dir=cache_dir)
    seconds = time.perf_counter() - started
    assert vectors.shape == (count, encoder.dim)
    return seconds


def bench_embedding(
    spec: str,
    sizes: Sequence[int],
    *,
    full_limit: int,
    sample: int,
    device: str,
    batch_size: int,
    image_side: int,
) -> list[EmbeddingRow]:
    encoder = make_encoder(spec, device=device, batch_size=batch_size)
    torch_threads = ""
    if spec != "pixels":
        import torch  # only to report the thread count; the encoder imported it already or will

        torch_threads = f", torch threads {torch.get_num_threads()}"
    print(
        f"embedding: encoder {encoder.name} (dim {encoder.dim}) on {device}, batch {batch_size}, "
        f"{image_side}-px PNG images, {os.cpu_count()} CPUs{torch_threads}"
    )
    load_model = getattr(encoder, "load", None)
    if callable(load_model):
        started = time.perf_counter()
        load_model()
        print(f"model load: {time.perf_counter() - started:.2f} s (not counted below)")
    rows: list[EmbeddingRow] = []
    with tempfile.TemporaryDirectory(prefix="spinebench-bench-") as temp:
        root = Path(temp)
        load = pool_loader(write_pool(root / "pool", image_side))
        encoder.encode([load(image_id) for image_id in image_ids(4)])  # warm-up: first-call kernel setup
        measured: dict[int, float] = {}
        offset = 10**9  # ids no earlier run used, so nothing comes from a cache
        for size in sorted(sizes):
            if size <= full_limit:
                measured[size] = time_cold(size, offset, load, encoder, root)
                offset += size
                rows.append(EmbeddingRow(size, "cold", measured[size], "measured"))
        estimated = [size for size in sorted(sizes) if size > full_limit]
        if estimated:
            if measured:
                basis = max(measured)
                rate, how = basis / measured[basis], f"{basis:,}-image run"
            else:
                seconds = time_cold(sample, offset, load, encoder, root)
                rate, how = sample / seconds, f"timed sample of {sample:,} images"
            for size in estimated:
                rows.append(EmbeddingRow(size, "cold", size / rate, f"ESTIMATED from the {how}"))
        for size in sorted(sizes):
            rows.append(EmbeddingRow(size, "cached", time_cached(size, encoder, root), "measured"))
    print(f"{'images':>9} {'mode':>7} {'img/s':>10} {'seconds':>10}  note")
    for row in rows:
        print(f"{row.images:>9,} {row.mode:>7} {row.per_second:>10,.1f} {row.seconds:>10,.2f}  {row.note}")
    return rows


# --- hard-negative selection ------------------------------------------------------------------------------
# Questions/second of the exact similarity stage: `quantise` (float32 unit vectors -> int16) and
# `select_hard_negatives` (block float32 GEMM of exact integers, int64 aggregation, keyed-tie ranking, and
# the run-time int64 check of the first block). Target: 100,000 queries against a 2,400-image library
# (200 per answer class) in under 5 s on 2 cores, with `max` (the paper's aggregation).


HARD_NEGATIVE_LIBRARY_PER_CLASS = 200  # the paper's library: 200 images per class
HARD_NEGATIVE_CLASSES = 12  # 11 diseases + Healthy: 2,400 library images
HARD_NEGATIVE_AGGREGATIONS = ("max", "mean", "topk:5")
HARD_NEGATIVE_TARGET_SECONDS = 5.0


def _unit_vectors(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def bench_hard_negatives(args: argparse.Namespace) -> None:
    """Questions/second of quantising + `select_hard_negatives` for random unit query vectors against a
    2,400-image library, each query with one class excluded and the library drawn from the queries (so the
    self-exclusion runs as in a build)."""
    from spinebench.embeddings import quantise
    from spinebench.questions import Aggregation, select_hard_negatives

    dim = args.dim or make_encoder(args.encoder, device=args.device, batch_size=args.batch_size).dim
    rng = np.random.default_rng(0)
    classes = HARD_NEGATIVE_CLASSES
    library_size = HARD_NEGATIVE_LIBRARY_PER_CLASS * classes
    codes = np.repeat(np.arange(classes, dtype=np.int64), HARD_NEGATIVE_LIBRARY_PER_CLASS)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"hard-negative selection (exact int16 similarities): {library_size:,}-image library, dim {dim} "
        f"({args.encoder}), {os.cpu_count()} CPUs (OPENBLAS_NUM_THREADS {threads}; load average {load}), "
        f"numpy {np.__version__}"
    )
    print(f"{'queries':>9} {'aggregation':>12} {'questions/s':>12} {'seconds':>10}  (quantise s)  target")
    for size in sorted(args.sizes):
        floats = _unit_vectors(rng, size, dim)
        started = time.perf_counter()
        queries = quantise(floats)
        quantise_seconds = time.perf_counter() - started
        del floats
        keys = np.arange(size, dtype=np.int64)
        library_keys = np.sort(rng.choice(size, library_size, replace=size < library_size)).astype(np.int64)
        library = queries[library_keys]
        exclude = np.zeros((size, classes), dtype=np.bool_)
        exclude[keys, rng.integers(0, classes, size)] = True
        for name in HARD_NEGATIVE_AGGREGATIONS:
            started = time.perf_counter()
            chosen = select_hard_negatives(
                queries, keys, exclude, library, codes, library_keys, Aggregation.parse(name)
            )
            seconds = time.perf_counter() - started + quantise_seconds
            assert chosen.ranked.shape == (size, 4) and not exclude[keys, chosen.ranked[:, 0]].any()
            verdict = ""
            if size == 100_000 and name == "max":
                verdict = "met" if seconds < HARD_NEGATIVE_TARGET_SECONDS else "MISSED"
                verdict += f" (< {HARD_NEGATIVE_TARGET_SECONDS:.0f} s on 2 cores)"
            print(
                f"{size:>9,} {name:>12} {size / seconds:>12,.0f} {seconds:>10.2f}  "
                f"({quantise_seconds:.2f})  {verdict}"
            )


# ----------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--encoder", default="efficientnet-lite0", help="an encoder spec (see make_encoder)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--full-limit",
        type=int,
        default=10_000,
        help="largest size embedded in full; larger ones are estimated",
    )
    parser.add_argument("--sample", type=int, default=512, help="images timed when no size is run in full")
    parser.add_argument("--image-side", type=int, default=1024)
    parser.add_argument("--skip-embedding", action="store_true")
    parser.add_argument(
        "--dim",
        type=int,
        default=None,
        help="hard negatives: vector dim (default: the encoder's; 1280 for lite0)",
    )
    parser.add_argument("--skip-hard-negatives", action="store_true")
    args = parser.parse_args()
    if not args.skip_embedding:
        bench_embedding(
            args.encoder,
            args.sizes,
            full_limit=args.full_limit,
            sample=args.sample,
            device=args.device,
            batch_size=args.batch_size,
            image_side=args.image_side,
        )
    if not args.skip_hard_negatives:
        bench_hard_negatives(args)


if __name__ == "__main__":
    main()
