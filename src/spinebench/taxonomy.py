"""Names of diseases, answers, levels and tasks: the one place every other module takes them from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Task = Literal["SDD", "SLL", "SSG"]
TASKS: Final[tuple[Task, ...]] = ("SDD", "SLL", "SSG")
# The SpineBench paper's tasks: the default build, and the two whose accuracies make Overall.
PAPER_TASKS: Final[tuple[Task, ...]] = ("SDD", "SLL")
# Severity grading (RSNA 2024): ours, built only on request and always reported beside Overall.
GRADING_TASK: Final[Task] = "SSG"
TASK_TITLES: Final[dict[Task, str]] = {
    "SDD": "Spinal disease diagnosis",
    "SLL": "Spinal lesion localization",
    "SSG": "Spinal severity grading",
}
# Task names used by the published SpineBench release.
RELEASE_TASK_NAMES: Final[dict[str, Task]] = {
    "spine_disease_classification": "SDD",
    "spine_lesion_localization": "SLL",
}

HEALTHY: Final = "Healthy"
LEVELS: Final[tuple[str, ...]] = ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1")
LETTERS: Final = "ABCDEFGHIJ"

Modality = Literal["xray", "mri", "unknown"]


@dataclass(frozen=True, slots=True)
class Disease:
    name: str
    abbreviation: str
    region: Literal["lumbar", "cervical"]
    synonyms: tuple[str, ...] = ()


DISEASES: Final[tuple[Disease, ...]] = (
    Disease("Disc space narrowing", "DSN", "lumbar", ("disc narrowing", "narrowed disc space")),
    Disease(
        "Foraminal stenosis",
        "FS",
        "lumbar",
        ("neural foraminal narrowing", "left neural foraminal narrowing", "right neural foraminal narrowing"),
    ),
    Disease(
        "Subarticular stenosis",
        "SAS",
        "lumbar",
        ("left subarticular stenosis", "right subarticular stenosis"),
    ),
    Disease("Osteophytes", "OST", "lumbar", ("osteophyte", "bone spur", "bone spurs")),
    Disease("Spinal canal stenosis", "SCS", "lumbar", ("central canal stenosis",)),
    Disease("Spondylolisthesis", "SPL", "lumbar", ("spondylolysthesis", "anterolisthesis")),
    Disease("Vertebral collapse", "VC", "lumbar", ("vertebral compression fracture",)),
    Disease("Straight cervical vertebrae", "SCV", "cervical", ("straight", "straightened cervical spine")),
    Disease("Cervical kyphosis", "CK", "cervical", ("kyphosis",)),
    Disease("Cervical lordosis", "CL", "cervical", ("lordosis",)),
    Disease("Sigmoid cervical vertebrae", "SIG", "cervical", ("sigmoid", "s-shaped cervical spine")),
)
DISEASE_NAMES: Final[tuple[str, ...]] = tuple(d.name for d in DISEASES)
# The answer classes of the diagnosis task: the 11 diseases and Healthy.
ANSWER_CLASSES: Final[tuple[str, ...]] = (*DISEASE_NAMES, HEALTHY)


def _normalise(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


_CANONICAL: Final[dict[str, str]] = {
    _normalise(alias): disease.name
    for disease in DISEASES
    for alias in (disease.name, disease.abbreviation, *disease.synonyms)
} | {_normalise(HEALTHY): HEALTHY, "no finding": HEALTHY, "normal": HEALTHY}


def canonical_answer(label: str) -> str | None:
    """The canonical disease name (or Healthy) for a label or synonym, or None when it names none."""
    return _CANONICAL.get(_normalise(label))


def letters_for(count: int) -> str:
    """The option letters for a question with `count` options."""
    if not 1 <= count <= len(LETTERS):
        raise ValueError(f"a question has 1 to {len(LETTERS)} options, not {count}")
    return LETTERS[:count]


# Per-source label maps: native label -> canonical disease. Labels in DROPPED_LABELS are left out on purpose.
VINDR_LESIONS: Final[dict[str, str | None]] = {
    "Disc space narrowing": "Disc space narrowing",
    "Foraminal stenosis": "Foraminal stenosis",
    "Osteophytes": "Osteophytes",
    "Spondylolysthesis": "Spondylolisthesis",  # the release's own spelling
    "Spondylolisthesis": "Spondylolisthesis",
    "Surgical implant": None,
    "Vertebral collapse": "Vertebral collapse",
    "Other lesions": None,
    # The six rarer raw classes of the VinDr paper; the public release folds them into "Other lesions".
    "Enthesophytes": None,
    "Sclerotic lesion": None,
    "Subchondral sclerosis": None,
    "Fracture": None,
    "Foreign body": None,
    "Ankylosis": None,
    "No finding": HEALTHY,
}
# RSNA 2024 lumbar: condition (as in train_label_coordinates.csv) -> disease; left/right merge into one.
RSNA_CONDITIONS: Final[dict[str, str]] = {
    "Spinal Canal Stenosis": "Spinal canal stenosis",
    "Left Neural Foraminal Narrowing": "Foraminal stenosis",
    "Right Neural Foraminal Narrowing": "Foraminal stenosis",
    "Left Subarticular Stenosis": "Subarticular stenosis",
    "Right Subarticular Stenosis": "Subarticular stenosis",
}
RSNA_SEVERITIES: Final[tuple[str, ...]] = ("Normal/Mild", "Moderate", "Severe")
# The options of a severity-grading question, always in this order (mildest first).
SEVERITY_GRADES: Final[tuple[str, ...]] = RSNA_SEVERITIES
SEVERE: Final = SEVERITY_GRADES[-1]
# CSXA cervical curvature classes.
CSXA_CLASSES: Final[dict[str, str]] = {
    "lordosis": "Cervical lordosis",
    "straight": "Straight cervical vertebrae",
    "sigmoid": "Sigmoid cervical vertebrae",
    "kyphosis": "Cervical kyphosis",
}
DROPPED_LABELS: Final[dict[str, str]] = {
    "Other lesions": "a catch-all class with no single visual pattern (dropped by the SpineBench protocol)",
    "Surgical implant": "hardware, not a disease (dropped by the SpineBench protocol)",
    "Enthesophytes": "not one of the 11 SpineBench diseases (folded into Other lesions by VinDr)",
    "Sclerotic lesion": "not one of the 11 SpineBench diseases (folded into Other lesions by VinDr)",
    "Subchondral sclerosis": "not one of the 11 SpineBench diseases (folded into Other lesions by VinDr)",
    "Fracture": "not one of the 11 SpineBench diseases (folded into Other lesions by VinDr)",
    "Foreign body": "not one of the 11 SpineBench diseases (folded into Other lesions by VinDr)",
    "Ankylosis": "not one of the 11 SpineBench diseases (folded into Other lesions by VinDr)",
}
