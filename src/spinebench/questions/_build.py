"""Catalogue folder -> benchmark folder: the orchestration and all the I/O of the questions stage.

The order matters for robustness: images are copied (and fully decoded) into the benchmark first, so a
missing or corrupt catalogue image is skipped and reported before it can stop the embedding; only the
images that made it in are embedded, sampled into the library and asked about.

Reproducibility: the catalogue rows are put in a canonical order first (source, record pseudonym, image id),
the vectors are quantised (exact similarities), and every choice is keyed by ids, so the same catalogue rows
and vectors give the same questions in any row order, block size or machine. The quantised vectors are
written beside the benchmark (`<BENCH>.embeddings.npz`); a build given that file (`embeddings=`) needs no
encoder and gives the same benchmark.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from spinebench.benchmark import BenchmarkWriter, Question
from spinebench.catalog import CATALOG_NAME, CatalogEntry, catalog_synthetic, count_diseases, read_catalog
from spinebench.embeddings import (
    DEFAULT_ENCODER,
    CatalogEncoding,
    EmbeddingsFile,
    Encoder,
    Quantised,
    describe_encoder,
    embed_catalog,
    embeddings_path,
    embeddings_to_bytes,
    make_encoder,
    quantise,
    read_embeddings,
)
from spinebench.errors import BenchmarkError, SpineBenchError
from spinebench.hashing import sha256_bytes, sha256_file
from spinebench.questions._card import CardData, TieCounts, render_card
from spinebench.questions._generate import diagnosis_id, exclusion_matrix, generate_questions
from spinebench.questions._grading import DEFAULT_SUB_SSG
from spinebench.questions._grading_build import GradingBuild, build_grading
from spinebench.questions._hard_negatives import (
    DEFAULT_AGGREGATION,
    DEFAULT_BLOCK,
    NEAR_TIE,
    Aggregation,
    HardNegatives,
    Hardness,
    cut_margins,
    distractor_hardness,
    select_hard_negatives,
)
from spinebench.questions._keyed import keyed_hash64
from spinebench.questions._library import DEFAULT_LIBRARY_SIZE, sample_library
from spinebench.questions._library_file import LIBRARY_FILE, library_arrays, library_to_bytes
from spinebench.questions._paraphrases import WORDINGS_VERSION
from spinebench.questions._protocol import protocol_name
from spinebench.questions._subset import (
    DEFAULT_SUB_SDD,
    DEFAULT_SUB_SLL,
    SUBSET_NAME,
    SubsetSelection,
    select_subset,
)
from spinebench.questions._tasks import build_protocol, parse_tasks
from spinebench.taxonomy import DISEASE_NAMES, GRADING_TASK, HEALTHY, PAPER_TASKS, Task

CARD_FILE: Final = "CARD.md"
BUILD_REPORT_FILE: Final = "build_report.json"
CACHE_DIR_NAME: Final = "embeddings-cache"
RANKED: Final = 5  # 4 distractors at most, plus the next class to measure the margin at the cut


class BuildError(SpineBenchError):
    """A benchmark cannot be built from the given catalogue or settings."""


@dataclass(frozen=True, slots=True)
class BuildSettings:
    """Everything that decides a build's questions, and how it is carried out (device, cache, batch, block).

    `embeddings`: an embeddings file of an earlier build; its vectors are used and no encoder is made.
    `exclude_same_patient`: the query's whole patient (else study) is left out of the library vote, not
    only the image itself (a departure from the paper's protocol, named so in the manifest).
    `tasks`: the paper's two, or with severity grading (SSG) beside them (a protocol name of its own).
    """

    seed: int = 0
    encoder: str = DEFAULT_ENCODER
    library_size: int = DEFAULT_LIBRARY_SIZE
    aggregation: str = DEFAULT_AGGREGATION
    exclude_same_patient: bool = False
    sub_sdd: int = DEFAULT_SUB_SDD
    sub_sll: int = DEFAULT_SUB_SLL
    name: str = "spinebench"
    cache_dir: Path | None = None  # default: <catalogue>/embeddings-cache
    device: str = "cpu"
    batch_size: int = 32
    block: int = DEFAULT_BLOCK
    embeddings: Path | None = None
    synthetic: bool | None = None  # None: as the catalogue recorded it
    tasks: tuple[Task, ...] = PAPER_TASKS
    mark_levels: bool = False  # SSG: circle the graded level's marked point on the image
    sub_ssg: int = DEFAULT_SUB_SSG


@dataclass
class BuildReport:
    out: Path
    manifest: dict[str, Any]
    questions: dict[str, int]
    subsets: list[SubsetSelection]
    hardness: Hardness
    library: dict[str, int]
    embeddings: Path
    protocol: str
    synthetic: bool | None
    skipped: list[str] = field(default_factory=list)


def default_cache_dir(catalog_dir: Path) -> Path:
    return catalog_dir / CACHE_DIR_NAME


def canonical_order(entries: list[CatalogEntry]) -> list[CatalogEntry]:
    """The catalogue rows in an order that does not depend on how the catalogue file was written."""
    return sorted(entries, key=lambda e: (e.source, e.record, e.image_id))


def check_settings(settings: BuildSettings, *, encoder_given: bool = False) -> Aggregation:
    """Raises a clear error for settings that cannot build (before any long work); returns the aggregation.

    An unknown encoder spec raises EncoderError (making an encoder loads nothing yet); an embeddings file
    is read, so a broken one is named before cataloguing.
    """
    aggregation = Aggregation.parse(settings.aggregation)
    if settings.library_size < 1:
        raise BuildError(f"the library needs at least 1 image per class, not {settings.library_size}")
    if settings.sub_sdd < 0 or settings.sub_sll < 0 or settings.sub_ssg < 0:
        raise BuildError("SpineBench-Sub sizes cannot be negative")
    parse_tasks(settings.tasks)
    if settings.block < 1:
        raise BuildError(f"the similarity block must hold at least 1 query, not {settings.block}")
    if settings.embeddings is not None:
        read_embeddings(settings.embeddings)
    elif not encoder_given:
        make_encoder(settings.encoder, device=settings.device, batch_size=settings.batch_size)
    return aggregation


def build_benchmark(
    catalog_dir: Path,
    out: Path,
    settings: BuildSettings | None = None,
    *,
    encoder: Encoder | None = None,
    progress: bool = False,
    remote_encoding: CatalogEncoding | None = None,
) -> BuildReport:
    """Builds the benchmark folder `out` from the catalogue in `catalog_dir`, and `<out>.embeddings.npz`.

    `encoder` overrides `settings.encoder` (tests pass a fake one); the manifest records its name.
    `remote_encoding` embeds the images the cache lacks elsewhere (a cluster) with the same encoder.
    """
    settings = settings or BuildSettings()
    aggregation = check_settings(settings, encoder_given=True)  # the encoder is made (or read) below
    tasks = parse_tasks(settings.tasks)
    catalogued = canonical_order(read_catalog(catalog_dir))
    # Slices kept for grading alone never reach the diagnosis tasks (their findings are not complete).
    entries = [entry for entry in catalogued if not entry.graded_only]
    if not entries:
        raise BuildError(f"{catalog_dir / CATALOG_NAME}: holds no image; nothing to build questions from")
    stored = read_embeddings(settings.embeddings) if settings.embeddings is not None else None
    spec = settings.encoder if encoder is None else encoder.name
    if stored is None and encoder is None:
        encoder = make_encoder(settings.encoder, device=settings.device, batch_size=settings.batch_size)
    synthetic = settings.synthetic if settings.synthetic is not None else catalog_synthetic(catalog_dir)
    writer = BenchmarkWriter(out, name=settings.name, seed=settings.seed)
    kept, images, skipped = _copy_images(entries, catalog_dir, writer, out)

    if stored is not None:
        assert settings.embeddings is not None
        provenance = stored.encoder
        vectors = stored.lookup([e.image_id for e in kept], what=str(settings.embeddings))
    else:
        assert encoder is not None
        provenance = describe_encoder(encoder, spec)
        cache_dir = settings.cache_dir or default_cache_dir(catalog_dir)
        embedded = embed_catalog(
            kept,
            catalog_dir,
            encoder,
            cache_dir=cache_dir,
            batch_size=settings.batch_size,
            progress=progress,
            remote=remote_encoding,
        )
        vectors = quantise(embedded)
    embeddings_bytes = embeddings_to_bytes(EmbeddingsFile.of([e.image_id for e in kept], vectors, provenance))

    image_ids = [e.image_id for e in kept]
    library = sample_library(
        [e.diseases for e in kept], size=settings.library_size, seed=settings.seed, image_ids=image_ids
    )
    exclude = exclusion_matrix(kept)
    # Not seeded: a tie is decided by the image and the classes alone, so a new seed reshuffles options,
    # not distractor sets.
    tie_keys = keyed_hash64("spinebench:ties", image_ids)
    self_keys = np.arange(len(kept), dtype=np.int64)
    paper = _rank(vectors, self_keys, exclude, library, aggregation, settings.block, tie_keys)
    negatives = paper
    if settings.exclude_same_patient:
        negatives = _rank(
            vectors, patient_keys(kept), exclude, library, aggregation, settings.block, tie_keys
        )
    made = generate_questions(kept, images, negatives.ranked, count_diseases(kept), seed=settings.seed)
    skipped += [str(s) for s in made.skipped]
    rows, wanted = _diagnosis_rows(kept, made.diagnosis)
    changed: int | None = None
    if settings.exclude_same_patient:
        changed = _changed_questions(paper.ranked[rows], negatives.ranked[rows], wanted)
    ties = _tie_counts(negatives, rows, wanted)

    sdd = select_subset(made.diagnosis, settings.sub_sdd, seed=settings.seed)
    sll = select_subset(made.localization, settings.sub_sll, seed=settings.seed)
    questions = _flag(made.diagnosis, sdd) + _flag(made.localization, sll)
    grading: GradingBuild | None = None
    if GRADING_TASK in tasks:
        grading = build_grading(
            writer,
            catalog_dir,
            catalogued,
            seed=settings.seed,
            mark_levels=settings.mark_levels,
            subset_size=settings.sub_ssg,
        )
        questions += grading.questions
        skipped += grading.skipped
    for question in questions:
        writer.add_question(question)

    chosen = negatives.ranked[rows, :4].copy()
    chosen[wanted < 4, 3] = -1
    hardness = distractor_hardness(negatives.similarities[rows], exclude[rows], chosen)
    writer.add_file(LIBRARY_FILE, library_to_bytes(library_arrays(library, kept, vectors)))
    protocol = build_protocol(
        tasks, protocol_name(aggregation, exclude_same_patient=settings.exclude_same_patient)
    )
    catalog_sha256 = sha256_file(catalog_dir / CATALOG_NAME)
    card = CardData(
        name=settings.name,
        catalog_sha256=catalog_sha256,
        catalog_images=len(catalogued),
        encoder=provenance,
        seed=settings.seed,
        library_size=settings.library_size,
        library_counts=library.counts(),
        aggregation=str(aggregation),
        protocol=protocol,
        exclude_same_patient=settings.exclude_same_patient,
        changed_by_exclusion=changed,
        ties=ties,
        wordings_version=WORDINGS_VERSION,
        questions=questions,
        subsets=[sdd, sll],
        hardness=hardness,
        skipped=len(skipped),
        synthetic=synthetic,
        tasks=tasks,
        grading=None if grading is None else grading.selection,
        marked_levels=settings.mark_levels,
    )
    writer.add_file(CARD_FILE, render_card(card).encode())
    writer.add_file(BUILD_REPORT_FILE, (json.dumps({"skipped": skipped}, indent=1) + "\n").encode())
    writer.build = {
        "protocol": protocol,
        "tasks": list(tasks),
        "catalog": {"sha256": catalog_sha256, "images": len(catalogued), "used": len(kept)},
        "seed": settings.seed,
        "encoder": {
            "spec": provenance.spec,
            "name": provenance.name,
            "dim": provenance.dim,
            "weights_sha256": provenance.weights_sha256,
            "torch": provenance.torch,
        },
        "embeddings": {
            "sha256": sha256_bytes(embeddings_bytes),
            "images": len(kept),
            "quantisation": "int16, scale 2048",
        },
        "library": {"size": settings.library_size, "file": LIBRARY_FILE, "per_class": library.counts()},
        "aggregation": str(aggregation),
        "exclude_same_patient": settings.exclude_same_patient,
        "ties": {"exact": ties.exact, "near": ties.near, "near_below": NEAR_TIE},
        "wordings_version": WORDINGS_VERSION,
        "subsets": {
            SUBSET_NAME: {s.task: {"requested": s.requested, "selected": s.selected} for s in (sdd, sll)}
        },
        "hardness": _hardness_json(hardness),
        "skipped": len(skipped),
        "synthetic": synthetic,
    }
    if grading is not None and grading.selection is not None:
        writer.build["subsets"][SUBSET_NAME][GRADING_TASK] = {
            "requested": grading.selection.requested,
            "selected": grading.selection.selected,
        }
        writer.build["grading"] = {
            "questions": len(grading.questions),
            "mark_levels": settings.mark_levels,
            "catalog_images": sum(1 for e in catalogued if e.grades),
            "repeated_marks": grading.repeated,
        }
    manifest = writer.close()
    target = embeddings_path(out)
    _write_atomic(target, embeddings_bytes)
    return BuildReport(
        out=out,
        manifest=manifest,
        questions={"SDD": len(made.diagnosis), "SLL": len(made.localization)}
        | ({} if grading is None else {GRADING_TASK: len(grading.questions)}),
        subsets=[sdd, sll] + ([] if grading is None or grading.selection is None else [grading.selection]),
        hardness=hardness,
        library=library.counts(),
        embeddings=target,
        protocol=protocol,
        synthetic=synthetic,
        skipped=skipped,
    )


def _copy_images(
    entries: list[CatalogEntry], catalog_dir: Path, writer: BenchmarkWriter, out: Path
) -> tuple[list[CatalogEntry], list[str], list[str]]:
    """(entries kept, their benchmark image paths, skip lines): a bad image is skipped, a bad folder fatal."""
    kept: list[CatalogEntry] = []
    images: list[str] = []
    skipped: list[str] = []
    for entry in entries:
        # Reported by catalogue-relative path: build_report.json is hashed, so it must not depend on where
        # the catalogue lies.
        try:
            data = (catalog_dir / entry.image).read_bytes()
        except OSError as error:
            skipped.append(f"catalogue image {entry.image}: cannot read ({error.strerror or error})")
            continue
        try:
            images.append(writer.add_image(data, what=f"catalogue image {entry.image}"))
        except BenchmarkError as error:  # the image does not decode: a bad record, skipped
            skipped.append(str(error))
            continue
        except OSError as error:  # the benchmark folder (full disk, permissions): every later image too
            raise BuildError(
                f"{out}: cannot write catalogue image {entry.image} into the benchmark "
                f"({error.strerror or error})"
            ) from error
        kept.append(entry)
    if not kept:
        raise BuildError(f"{catalog_dir}: none of its {len(entries)} images could be read")
    return kept, images, skipped


def patient_keys(entries: list[CatalogEntry]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """One key per patient (else per study, else per image), so a same-key library row is left out."""
    groups: dict[str, int] = {}
    keys = []
    for entry in entries:
        group = (
            f"p:{entry.patient}"
            if entry.patient
            else f"s:{entry.study}"
            if entry.study
            else f"i:{entry.image_id}"
        )
        keys.append(groups.setdefault(group, len(groups)))
    return np.asarray(keys, dtype=np.int64)


def _rank(
    vectors: Quantised,
    keys: np.ndarray[Any, np.dtype[np.int64]],
    exclude: np.ndarray[Any, np.dtype[np.bool_]],
    library: Any,
    aggregation: Aggregation,
    block: int,
    tie_keys: np.ndarray[Any, np.dtype[np.uint64]],
) -> HardNegatives:
    diseased = library.codes < len(DISEASE_NAMES)  # Healthy rows serve only the knn baseline
    rows = library.images[diseased]
    return select_hard_negatives(
        vectors, keys, exclude, vectors[rows], library.codes[diseased], keys[rows], aggregation,
        count=RANKED, block=block, tie_keys=tie_keys,
    )  # fmt: skip


def _diagnosis_rows(
    entries: list[CatalogEntry], diagnosis: list[Question]
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """Catalogue rows that got an SDD question, and how many distractors each has (3, or 4 if Healthy)."""
    asked = {q.id: q.disease for q in diagnosis}
    rows = [i for i, e in enumerate(entries) if diagnosis_id(e) in asked]
    wanted = [4 if asked[diagnosis_id(entries[i])] == HEALTHY else 3 for i in rows]
    return np.asarray(rows, dtype=np.int64), np.asarray(wanted, dtype=np.int64)


def _changed_questions(
    before: np.ndarray[Any, np.dtype[np.int64]],
    after: np.ndarray[Any, np.dtype[np.int64]],
    wanted: np.ndarray[Any, np.dtype[np.int64]],
) -> int:
    """How many questions get a different distractor set (as sets: options are shuffled anyway)."""
    return sum(
        set(b[:k].tolist()) != set(a[:k].tolist())
        for b, a, k in zip(before, after, wanted.tolist(), strict=True)
    )


def _tie_counts(
    negatives: HardNegatives,
    rows: np.ndarray[Any, np.dtype[np.int64]],
    wanted: np.ndarray[Any, np.dtype[np.int64]],
) -> TieCounts:
    if not len(rows):
        return TieCounts(0, 0, NEAR_TIE)
    margins = cut_margins(negatives.similarities[rows], negatives.ranked[rows], wanted)
    return TieCounts(int((margins == 0).sum()), int(((margins > 0) & (margins < NEAR_TIE)).sum()), NEAR_TIE)


def _flag(questions: list[Question], selection: SubsetSelection) -> list[Question]:
    return [dataclasses.replace(q, subsets=(SUBSET_NAME,)) if q.id in selection.ids else q for q in questions]


def _hardness_json(hardness: Hardness) -> dict[str, Any]:
    if not hardness.questions:  # NaN is not JSON
        return {"questions": 0, "chosen": None, "random": None, "difference": None}
    return {
        "questions": hardness.questions,
        "chosen": round(hardness.chosen, 6),
        "random": round(hardness.random, 6),
        "difference": round(hardness.difference, 6),
    }


def _write_atomic(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise BuildError(f"{target}: cannot write the embeddings file ({error.strerror or error})") from error
