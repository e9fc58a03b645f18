"""Running a model over a benchmark: the run directory, the runner and its progress display."""

from spinebench.run._directory import JUDGE_CACHE, PREDICTIONS, RUN_JSON, SCORES_JSON, RunDirectory
from spinebench.run._judge import Judge
from spinebench.run._progress import Reporter, RichReporter, SilentReporter
from spinebench.run._runner import (
    MODEL_HELP,
    EvalResult,
    EvalSettings,
    Executor,
    QuestionAnswerer,
    evaluate,
    make_answerer,
    run_identity,
    variants,
)

__all__ = [
    "JUDGE_CACHE",
    "MODEL_HELP",
    "PREDICTIONS",
    "RUN_JSON",
    "SCORES_JSON",
    "EvalResult",
    "EvalSettings",
    "Executor",
    "Judge",
    "QuestionAnswerer",
    "Reporter",
    "RichReporter",
    "RunDirectory",
    "SilentReporter",
    "evaluate",
    "make_answerer",
    "run_identity",
    "variants",
]
