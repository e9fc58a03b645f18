"""The questions stage: catalogue + image vectors -> SDD/SLL questions (hard negatives), and catalogue grades
-> SSG questions, -> benchmark folder.

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
from spinebench.questions._grading import (
    CONDITION_CODES,
    DEFAULT_SUB_SSG,
    GradedSlice,
    graded_slices,
    grading_id,
    grading_question,
    grading_wording,
    mark_point,
    marker_radius,
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
from spinebench.questions._tasks import (
    GRADING_PROTOCOL,
    PAPER_PROTOCOL,
    TaskSelectionError,
    build_protocol,
    parse_tasks,
)

__all__ = [
    "BUILD_REPORT_FILE",
    "CARD_FILE",
    "CONDITION_CODES",
    "DEFAULT_AGGREGATION",
    "DEFAULT_LIBRARY_SIZE",
    "DEFAULT_SUB_SDD",
    "DEFAULT_SUB_SLL",
    "DEFAULT_SUB_SSG",
    "DIAGNOSIS_WORDINGS",
    "GRADING_PROTOCOL",
    "LIBRARY_FILE",
    "LOCALIZATION_WORDINGS",
    "PAPER_PROTOCOL",
    "SUBSET_NAME",
    "WORDINGS_VERSION",
    "Aggregation",
    "AggregationError",
    "BuildError",
    "BuildReport",
    "BuildSettings",
    "CardData",
    "GeneratedQuestions",
    "GradedSlice",
    "HardNegatives",
    "Hardness",
    "Library",
    "LibraryArrays",
    "LibraryFileError",
    "SkippedQuestion",
    "SubsetSelection",
    "TaskSelectionError",
    "asked_disease",
    "build_benchmark",
    "build_protocol",
    "class_similarities",
    "default_cache_dir",
    "distractor_hardness",
    "exclusion_matrix",
    "generate_questions",
    "graded_slices",
    "grading_id",
    "grading_question",
    "grading_wording",
    "library_arrays",
    "library_from_bytes",
    "library_to_bytes",
    "mark_point",
    "marker_radius",
    "parse_tasks",
    "rank_classes",
    "render_card",
    "sample_library",
    "select_hard_negatives",
    "select_subset",
]
