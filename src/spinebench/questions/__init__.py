"""The questions stage: catalogue + image vectors -> SDD/SLL questions (hard negatives) -> benchmark folder.

`build_benchmark` does the whole stage with its I/O; the pieces (library sampling, hard-negative selection
on arrays, question generation, SpineBench-Sub selection, the dataset card) are usable on their own.
"""

from spinebench.questions._build import (
    BUILD_REPORT_FILE,
    CARD_FILE,
    BuildError,
    BuildReport,
    BuildSettings,
    build_benchmark,
    default_cache_dir,
)
from spinebench.questions._card import CardData, render_card
from spinebench.questions._generate import (
    GeneratedQuestions,
    SkippedQuestion,
    asked_disease,
    exclusion_matrix,
    generate_questions,
)
from spinebench.questions._hard_negatives import (
    DEFAULT_AGGREGATION,
    Aggregation,
    AggregationError,
    HardNegatives,
    Hardness,
    class_similarities,
    distractor_hardness,
    rank_classes,
    select_hard_negatives,
)
from spinebench.questions._library import DEFAULT_LIBRARY_SIZE, Library, sample_library
from spinebench.questions._library_file import (
    LIBRARY_FILE,
    LibraryArrays,
    LibraryFileError,
    library_arrays,
    library_from_bytes,
    library_to_bytes,
)
from spinebench.questions._paraphrases import DIAGNOSIS_WORDINGS, LOCALIZATION_WORDINGS, WORDINGS_VERSION
from spinebench.questions._subset import (
    DEFAULT_SUB_SDD,
    DEFAULT_SUB_SLL,
    SUBSET_NAME,
    SubsetSelection,
    select_subset,
)

__all__ = [
    "BUILD_REPORT_FILE",
    "CARD_FILE",
    "DEFAULT_AGGREGATION",
    "DEFAULT_LIBRARY_SIZE",
    "DEFAULT_SUB_SDD",
    "DEFAULT_SUB_SLL",
    "DIAGNOSIS_WORDINGS",
    "LIBRARY_FILE",
    "LOCALIZATION_WORDINGS",
    "SUBSET_NAME",
    "WORDINGS_VERSION",
    "Aggregation",
    "AggregationError",
    "BuildError",
    "BuildReport",
    "BuildSettings",
    "CardData",
    "GeneratedQuestions",
    "HardNegatives",
    "Hardness",
    "Library",
    "LibraryArrays",
    "LibraryFileError",
    "SkippedQuestion",
    "SubsetSelection",
    "asked_disease",
    "build_benchmark",
    "class_similarities",
    "default_cache_dir",
    "distractor_hardness",
    "exclusion_matrix",
    "generate_questions",
    "library_arrays",
    "library_from_bytes",
    "library_to_bytes",
    "rank_classes",
    "render_card",
    "sample_library",
    "select_hard_negatives",
    "select_subset",
]
