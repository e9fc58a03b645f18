"""The questions stage: catalogue + image vectors -> SDD/SLL questions (hard negatives), and catalogue grades
-> SSG questions, -> benchmark folder.

`build_benchmark` does the whole stage with its I/O, and `build_from_sources` catalogues source folders first
(what the CLI, the demo and a distributed build call); the pieces (library sampling, exact hard-negative
selection on quantised arrays, question generation, SpineBench-Sub selection, the dataset card) are usable on
their own.
"""

from spinebench.questions._build import (
    BUILD_REPORT_FILE,
    CARD_FILE,
    BuildError,
    BuildReport,
    BuildSettings,
    build_benchmark,
    canonical_order,
    check_settings,
    default_cache_dir,
    patient_keys,
)
from spinebench.questions._card import CardData, TieCounts, render_card
from spinebench.questions._from_sources import (
    CATALOG_SUFFIX,
    SourcesBuild,
    build_from_sources,
    default_catalog_dir,
)
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
    DEFAULT_BLOCK,
    NEAR_TIE,
    Aggregation,
    AggregationError,
    HardNegatives,
    Hardness,
    SimilarityError,
    class_similarities,
    cut_margins,
    distractor_hardness,
    rank_classes,
    select_hard_negatives,
    tie_breakers,
)
from spinebench.questions._keyed import keyed_hash64
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
from spinebench.questions._protocol import PAPER_PROTOCOL, VARIANT_PROTOCOL, protocol_name
from spinebench.questions._subset import (
    DEFAULT_SUB_SDD,
    DEFAULT_SUB_SLL,
    SUBSET_NAME,
    SubsetSelection,
    select_subset,
)
from spinebench.questions._tasks import (
    GRADING_PROTOCOL,
    TaskSelectionError,
    build_protocol,
    hard_negative_protocol,
    parse_tasks,
)

__all__ = [
    "BUILD_REPORT_FILE",
    "CARD_FILE",
    "CATALOG_SUFFIX",
    "CONDITION_CODES",
    "DEFAULT_AGGREGATION",
    "DEFAULT_BLOCK",
    "DEFAULT_LIBRARY_SIZE",
    "DEFAULT_SUB_SDD",
    "DEFAULT_SUB_SLL",
    "DEFAULT_SUB_SSG",
    "DIAGNOSIS_WORDINGS",
    "GRADING_PROTOCOL",
    "LIBRARY_FILE",
    "LOCALIZATION_WORDINGS",
    "NEAR_TIE",
    "PAPER_PROTOCOL",
    "SUBSET_NAME",
    "VARIANT_PROTOCOL",
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
    "SimilarityError",
    "SkippedQuestion",
    "SourcesBuild",
    "SubsetSelection",
    "TaskSelectionError",
    "TieCounts",
    "asked_disease",
    "build_benchmark",
    "build_from_sources",
    "build_protocol",
    "canonical_order",
    "check_settings",
    "class_similarities",
    "cut_margins",
    "default_cache_dir",
    "default_catalog_dir",
    "distractor_hardness",
    "exclusion_matrix",
    "generate_questions",
    "graded_slices",
    "grading_id",
    "grading_question",
    "grading_wording",
    "hard_negative_protocol",
    "keyed_hash64",
    "library_arrays",
    "library_from_bytes",
    "library_to_bytes",
    "mark_point",
    "marker_radius",
    "parse_tasks",
    "patient_keys",
    "protocol_name",
    "rank_classes",
    "render_card",
    "sample_library",
    "select_hard_negatives",
    "select_subset",
    "tie_breakers",
]
