"""`CARD.md`: the dataset card of a built benchmark (provenance, counts, subset, protocol, hardness).

The card is listed and hashed in the manifest like the questions, so it holds nothing that changes from
one run of the same build to the next (no dates, no paths).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from spinebench import __version__
from spinebench.benchmark import Question
from spinebench.embeddings import EncoderProvenance
from spinebench.questions._grading import grading_card_lines
from spinebench.questions._hard_negatives import Hardness
from spinebench.questions._protocol import PAPER_PROTOCOL
from spinebench.questions._subset import SUBSET_NAME, SubsetSelection
from spinebench.questions._tasks import hard_negative_protocol
from spinebench.taxonomy import ANSWER_CLASSES, GRADING_TASK, PAPER_TASKS, TASK_TITLES, Task

_SYNTHETIC_WARNING = (
    "> **SYNTHETIC DATA.** This benchmark was built from procedurally drawn phantom images, not from the "
    "VinDr-SpineXR, RSNA, CSXA or BUU-LSPINE datasets. Its scores say whether the tooling works; they say "
    "nothing about medical image understanding."
)


@dataclass(frozen=True, slots=True)
class TieCounts:
    """SDD questions whose distractor set was decided at the cut by an exact tie (broken by the keyed
    hash) or by a gap below `near_below` (a near-tie)."""

    exact: int
    near: int
    near_below: float


@dataclass(frozen=True, slots=True)
class CardData:
    name: str
    catalog_sha256: str
    catalog_images: int
    encoder: EncoderProvenance
    seed: int
    library_size: int
    library_counts: dict[str, int]
    aggregation: str
    protocol: str
    exclude_same_patient: bool
    changed_by_exclusion: int | None  # questions whose distractors the same-patient exclusion changed
    ties: TieCounts
    wordings_version: int
    questions: Sequence[Question]
    subsets: Sequence[SubsetSelection]
    hardness: Hardness
    skipped: int
    synthetic: bool | None
    tasks: tuple[Task, ...] = PAPER_TASKS
    grading: SubsetSelection | None = None  # the SSG subset, when the build grades severity
    marked_levels: bool = False


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def render_card(data: CardData) -> str:
    by: dict[str, Counter[str]] = {
        "task": Counter(),
        "sub": Counter(),
        "source": Counter(),
        "disease": Counter(),
    }
    for question in data.questions:
        by["task"][question.task] += 1
        by["source"][f"{question.source}/{question.task}"] += 1
        by["disease"][f"{question.disease}/{question.task}"] += 1
        if SUBSET_NAME in question.subsets:
            by["sub"][question.task] += 1
            by["sub"][f"{question.disease}/{question.task}"] += 1
            by["sub"][f"{question.source}/{question.task}"] += 1
    lines = [f"# {data.name}: dataset card", ""]
    if data.synthetic:
        lines += [_SYNTHETIC_WARNING, ""]
    elif data.synthetic is None:
        lines += ["> Whether the source images are real or synthetic was not recorded for this build.", ""]
    lines += [
        "## Provenance",
        "",
        f"- Built by spinebench {__version__} from a catalogue of {data.catalog_images} images "
        f"(`catalog.parquet` sha256 `{data.catalog_sha256}`).",
        f"- Image encoder: `{data.encoder.name}` ({_weights(data.encoder)}; torch "
        f"{data.encoder.torch or 'not used'}); its quantised vectors are in the embeddings file written "
        "beside this folder, from which `spinebench build --embeddings FILE` rebuilds it without an encoder.",
        f"- Protocol `{data.protocol}`: seed {data.seed}; reference library: up to "
        f"{data.library_size} images per class; per-disease aggregation: `{data.aggregation}`; question "
        f"wordings version {data.wordings_version}.",
        "- Patient, study and record identifiers are keyed pseudonyms; no DICOM patient tag is copied. "
        "The licence and terms of use of each source dataset apply to its images.",
        f"- Questions the build could not make: {data.skipped} (listed in `build_report.json`).",
        f"- Tasks: {', '.join(data.tasks)}; protocol `{data.protocol}`"
        + (
            ". Overall is the mean of SDD and SLL accuracy; SSG is scored beside it, never folded in."
            if GRADING_TASK in data.tasks
            else "."
        ),
        "",
        "## Questions",
        "",
    ]
    lines += _table(
        ["task", "questions", "SpineBench-Sub"],
        [[f"{task} ({TASK_TITLES[task]})", by["task"][task], by["sub"][task]] for task in data.tasks],
    )
    lines += ["", "### Per disease (SDD: the asked truth; SLL: the finding located)", ""]
    rows = [
        [name, *(by[key][f"{name}/{task}"] for task in ("SDD", "SLL") for key in ("disease", "sub"))]
        for name in ANSWER_CLASSES
        if any(by["disease"][f"{name}/{task}"] for task in ("SDD", "SLL"))
    ]
    lines += _table(["disease", "SDD", "SDD sub", "SLL", "SLL sub"], rows)
    sources = sorted({key.split("/")[0] for key in by["source"]})
    lines += ["", "### Per source", ""]
    lines += _table(
        ["source", "SDD", "SDD sub", "SLL", "SLL sub"],
        [
            [source, *(by[key][f"{source}/{task}"] for task in ("SDD", "SLL") for key in ("source", "sub"))]
            for source in sources
        ],
    )
    if GRADING_TASK in data.tasks:
        lines += grading_card_lines(data.questions, None, marked=data.marked_levels)
    lines += ["", "## SpineBench-Sub", ""]
    for selection in data.subsets:
        note = " (the catalogue holds fewer: all were taken)" if selection.short else ""
        lines.append(
            f"- {selection.task}: {selection.selected} of {selection.requested} requested{note}, "
            f"from {selection.available} questions; balanced per disease, then per source."
        )
    if data.grading is not None:
        note = " (the catalogue holds fewer: all were taken)" if data.grading.short else ""
        lines.append(
            f"- {GRADING_TASK}: {data.grading.selected} of {data.grading.requested} requested{note}, from "
            f"{data.grading.available} questions; balanced per grade, then per condition."
        )
    lines += [
        f"- Evaluate on it with `spinebench eval BENCH --subset {SUBSET_NAME} ...`.",
        "",
        "## Protocol",
        "",
        "- SDD (spinal disease diagnosis): one question per image, one answer among 5 options: the truth, "
        "the 3 diseases the image looks most like (hard negatives), and Healthy; a Healthy image gets the 4 "
        "most similar diseases. An image with several diseases is asked about its rarest one, and none of "
        "its diseases is offered as a distractor.",
        "- Hard negatives: every image is embedded; its cosine similarity to each reference-library image "
        f"({_excluded(data)}) is aggregated per disease (`{data.aggregation}`); the diseases the image does "
        "not have are ranked by it. Similarities are exact integer dot products of int16-quantised vectors "
        "(scale 2048), so the ranking is the same on every machine, block size and catalogue order.",
        "- SLL (spinal lesion localization): one question per image and levelled finding; the options are "
        "the 5 lumbar disc levels in shuffled order; the answer is every affected level.",
        *(
            [
                "- SSG (spinal severity grading, RSNA 2024 lumbar): one question per study, condition and "
                "graded disc level, on the slice the coordinates file marks for them; the options are "
                "Normal/Mild, Moderate, Severe in this order; scored by accuracy, quadratic-weighted kappa "
                "and severe-case sensitivity and specificity (docs/tasks.md)."
            ]
            if GRADING_TASK in data.tasks
            else []
        ),
        "- Wordings are drawn from a pool of paraphrases; options are shuffled; both with a generator seeded "
        "by the build seed and the question id.",
    ]
    lines += _protocol_notes(data)
    lines += ["", "## Distractor hardness", ""]
    hardness = data.hardness
    if hardness.questions:
        lines += _table(
            ["SDD questions", "chosen distractors", "random other disease", "difference"],
            [
                [
                    hardness.questions,
                    f"{hardness.chosen:.4f}",
                    f"{hardness.random:.4f}",
                    f"{hardness.difference:+.4f}",
                ]
            ],
        )
        lines += [
            "",
            f"Mean `{data.aggregation}` cosine similarity of a question image to its chosen distractor "
            "diseases, against the expectation for a disease drawn at random among those it does not have. "
            "A positive difference means the distractors look more like the image than chance would give.",
        ]
    else:
        lines.append("No question had a scored distractor (the library is empty).")
    counts = ", ".join(f"{name} {n}" for name, n in data.library_counts.items() if n)
    lines += ["", f"Reference library images per class: {counts or 'none'}.", ""]
    return "\n".join(lines)


def _excluded(data: CardData) -> str:
    if data.exclude_same_patient:
        return "every image of its own patient, or of its study when the patient is not known, excluded"
    return "itself excluded"


def _protocol_notes(data: CardData) -> list[str]:
    ties = data.ties
    lines = [
        f"- Ties at the distractor cut: {ties.exact} SDD questions had an exact tie between the last chosen "
        "and the next disease, broken by a keyed hash of (image, disease), never by disease order; "
        f"{ties.near} more had a gap below {ties.near_below:g} in cosine similarity (near-ties: another "
        "encoder build could swap those two diseases).",
    ]
    # Adding SSG names the protocol anew but leaves the paper's hard negatives as they are.
    if hard_negative_protocol(data.protocol) != PAPER_PROTOCOL:
        lines.append(
            f"- This build departs from the paper's protocol (`{PAPER_PROTOCOL}`: `max` aggregation, only "
            "the image itself left out); compare its scores only with builds of the same protocol."
        )
    if data.changed_by_exclusion is not None:
        lines.append(
            f"- Leaving the query's own patient out of the library vote changed the distractors of "
            f"{data.changed_by_exclusion} SDD questions, compared with leaving out only the image itself."
        )
    return lines


def _weights(encoder: EncoderProvenance) -> str:
    if encoder.weights_sha256:
        return f"weights sha256 `{encoder.weights_sha256}`"
    return "no weights file" if encoder.torch is None else "weights sha256 not found offline"
