"""Read the chosen option letters out of a model's free-text answer (see `_cascade.py` for the stages).

Every module here but `_vocabulary` uses only the standard library, so that the exported harness files can
carry this exact extractor without spinebench installed: `standalone_source()` writes the package as one
module.
"""

from spinebench.extract._cascade import STAGES, Extraction, Stage, extract_answer
from spinebench.extract._judge_prompt import judge_prompt
from spinebench.extract._reasoning import Reply, split_reasoning
from spinebench.extract._refusal import is_refusal
from spinebench.extract._standalone import STANDALONE_MODULE, standalone_source
from spinebench.extract._strict import extract_strict
from spinebench.extract._tolerant import extract_tolerant

__all__ = [
    "STAGES",
    "STANDALONE_MODULE",
    "Extraction",
    "Reply",
    "Stage",
    "extract_answer",
    "extract_strict",
    "extract_tolerant",
    "is_refusal",
    "judge_prompt",
    "split_reasoning",
    "standalone_source",
]
