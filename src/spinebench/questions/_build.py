"""Catalogue folder -> benchmark folder: the orchestration and all the I/O of the questions stage.

The order matters for robustness: images are copied (and fully decoded) into the benchmark first, so a
missing or corrupt catalogue image is skipped and reported before it can stop the embedding; only the
images that made it in are embedded, sampled into the library and asked about.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from spinebench.benchmark import BenchmarkWriter, Question
from spinebench.catalog import CATALOG_NAME, CatalogEntry, count_diseases, read_catalog
from spinebench.embeddings import DEFAULT_ENCODER, Encoder, embed_catalog, make_encoder
from spinebench.errors import BenchmarkError, SpineBenchError
from spinebench.hashing import sha256_file
from spinebench.questions._card import CardData, render_card
from spinebench.questions._generate import diagnosis_id, exclusion_matrix, generate_questions
from spinebench.questions._grading import DEFAULT_SUB_SSG
from spinebench.questions._grading_build import GradingBuild, build_grading
from spinebench.questions._hard_negatives import (
    DEFAULT_AGGREGATION,
    Aggregation,
    Hardness,
    distractor_hardness,
    select_hard_negatives,
)
from spinebench.questions._library import DEFAULT_LIBRARY_SIZE, sample_library
from spinebench.questions._library_file import LIBRARY_FILE, library_arrays, library_to_bytes
from spinebench.questions._paraphrases import WORDINGS_VERSION
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


class BuildError(SpineBenchError):
    """A benchmark cannot be built from the given catalogue or settings."""


@dataclass(frozen=True, slots=True)
class BuildSettings:
    """Everything that decides a build's questions, and how it is carried out (device, cache, batch)."""

    seed: int = 0
    encoder: str = DEFAULT_ENCODER
    library_size: int = DEFAULT_LIBRARY_SIZE
    aggregation: str = DEFAULT_AGGREGATION
    sub_sdd: int = DEFAULT_SUB_SDD
    sub_sll: int = DEFAULT_SUB_SLL
    name: str = "spinebench"
    cache_dir: Path | None = None  # default: <catalogue>/embeddings-cache
    device: str = "cpu"
    batch_size: int = 32
    synthetic: bool | None = None  # whether the sources were synthetic phantoms; None: not known
    tasks: tuple[Task, ...] = PAPER_TASKS  # the paper's two, or with severity grading (SSG) beside them
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
    skipped: list[str] = field(default_factory=list)


def default_cache_dir(catalog_dir: Path) -> Path:
    return catalog_dir / CACHE_DIR_NAME


def build_benchmark(
    catalog_dir: Path,
    out: Path,
    settings: BuildSettings | None = None,
    *,
    encoder: Encoder | None = None,
    progress: bool = False,
) -> BuildReport:
    """Builds the benchmark folder `out` from the catalogue in `catalog_dir`.

    `encoder` overrides `settings.encoder` (tests pass a fake one); the manifest records its name.
    """
    settings = settings or BuildSettings()
    aggregation = Aggregation.parse(settings.aggregation)
    if settings.library_size < 1:
        raise BuildError(f"the library needs at least 1 image per class, not {settings.library_size}")
    if settings.sub_sdd < 0 or settings.sub_sll < 0 or settings.sub_ssg < 0:
        raise BuildError("SpineBench-Sub sizes cannot be negative")
    tasks = parse_tasks(settings.tasks)
    catalogued = read_catalog(catalog_dir)
    # Slices kept for grading alone never reach the diagnosis tasks (their findings are not complete).
    entries = [entry for entry in catalogued if not entry.graded_only]
    if not entries:
        raise BuildError(f"{catalog_dir / CATALOG_NAME}: holds no image; nothing to build questions from")
    spec = settings.encoder if encoder is None else encoder.name
    if encoder is None:  # an unknown spec raises EncoderError (a SpineBenchError) before any work
        encoder = make_encoder(settings.encoder, device=settings.device, batch_size=settings.batch_size)
    writer = BenchmarkWriter(out, name=settings.name, seed=settings.seed)
    skipped: list[str] = []

    kept: list[CatalogEntry] = []
    images: list[str] = []
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

    cache_dir = settings.cache_dir or default_cache_dir(catalog_dir)
    embedded = embed_catalog(
        kept, catalog_dir, encoder, cache_dir=cache_dir, batch_size=settings.batch_size, progress=progress
    )
    vectors = np.asarray(embedded, dtype=np.float32)
    library = sample_library([e.diseases for e in kept], size=settings.library_size, seed=settings.seed)
    diseased = library.codes < len(DISEASE_NAMES)  # Healthy rows serve only the knn baseline
    exclude = exclusion_matrix(kept)
    negatives = select_hard_negatives(
        vectors,
        np.arange(len(kept), dtype=np.int64),
        exclude,
        vectors[library.images[diseased]],
        library.codes[diseased],
        library.images[diseased],
        aggregation,
    )
    made = generate_questions(kept, images, negatives.ranked, count_diseases(kept), seed=settings.seed)
    skipped += [str(s) for s in made.skipped]

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

    hardness = _hardness(kept, made.diagnosis, negatives.similarities, negatives.ranked, exclude)
    writer.add_file(LIBRARY_FILE, library_to_bytes(library_arrays(library, kept, vectors)))
    catalog_sha256 = sha256_file(catalog_dir / CATALOG_NAME)
    card = CardData(
        name=settings.name,
        catalog_sha256=catalog_sha256,
        catalog_images=len(catalogued),
        encoder=encoder.name,
        seed=settings.seed,
        library_size=settings.library_size,
        library_counts=library.counts(),
        aggregation=str(aggregation),
        wordings_version=WORDINGS_VERSION,
        questions=questions,
        subsets=[sdd, sll],
        hardness=hardness,
        skipped=len(skipped),
        synthetic=settings.synthetic,
        tasks=tasks,
        protocol=build_protocol(tasks),
        grading=None if grading is None else grading.selection,
        marked_levels=settings.mark_levels,
    )
    writer.add_file(CARD_FILE, render_card(card).encode())
    report_json = {"skipped": skipped}
    writer.add_file(BUILD_REPORT_FILE, (json.dumps(report_json, indent=1) + "\n").encode())
    writer.build = {
        "protocol": build_protocol(tasks),
        "tasks": list(tasks),
        "catalog": {"sha256": catalog_sha256, "images": len(catalogued), "used": len(kept)},
        "seed": settings.seed,
        "encoder": {"spec": spec, "name": encoder.name, "dim": int(encoder.dim)},
        "library": {"size": settings.library_size, "file": LIBRARY_FILE, "per_class": library.counts()},
        "aggregation": str(aggregation),
        "wordings_version": WORDINGS_VERSION,
        "subsets": {
            SUBSET_NAME: {s.task: {"requested": s.requested, "selected": s.selected} for s in (sdd, sll)}
        },
        "hardness": _hardness_json(hardness),
        "skipped": len(skipped),
        "synthetic": settings.synthetic,
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
    return BuildReport(
        out=out,
        manifest=manifest,
        questions={"SDD": len(made.diagnosis), "SLL": len(made.localization)}
        | ({} if grading is None else {GRADING_TASK: len(grading.questions)}),
        subsets=[sdd, sll] + ([] if grading is None or grading.selection is None else [grading.selection]),
        hardness=hardness,
        library=library.counts(),
        skipped=skipped,
    )


def _flag(questions: list[Question], selection: SubsetSelection) -> list[Question]:
    return [dataclasses.replace(q, subsets=(SUBSET_NAME,)) if q.id in selection.ids else q for q in questions]


def _hardness(
    entries: list[CatalogEntry],
    diagnosis: list[Question],
    similarities: np.ndarray[Any, np.dtype[np.float32]],
    ranked: np.ndarray[Any, np.dtype[np.int64]],
    exclude: np.ndarray[Any, np.dtype[np.bool_]],
) -> Hardness:
    """Hardness over the questions made: 3 distractors, or 4 for a Healthy image."""
    asked = {q.id: q.disease for q in diagnosis}
    rows = [i for i, e in enumerate(entries) if diagnosis_id(e) in asked]
    chosen = ranked[rows, :4].copy()
    healthy = np.asarray([asked[diagnosis_id(entries[i])] == HEALTHY for i in rows], dtype=np.bool_)
    chosen[~healthy, 3] = -1
    return distractor_hardness(similarities[rows], exclude[rows], chosen)


def _hardness_json(hardness: Hardness) -> dict[str, Any]:
    if not hardness.questions:  # NaN is not JSON
        return {"questions": 0, "chosen": None, "random": None, "difference": None}
    return {
        "questions": hardness.questions,
        "chosen": round(hardness.chosen, 6),
        "random": round(hardness.random, 6),
        "difference": round(hardness.difference, 6),
    }
