"""Running a model over a benchmark: the run directory, the runner and its progress display."""

from spinebench.run._directory import PREDICTIONS, RUN_JSON, SCORES_JSON, RunDirectory
from spinebench.run._prediction import Prediction, Stage
from spinebench.run._progress import Reporter, RichReporter, SilentReporter
from spinebench.run._runner import EvalResult, EvalSettings, evaluate, run_identity

__all__ = [
    "PREDICTIONS",
    "RUN_JSON",
    "SCORES_JSON",
    "EvalResult",
    "EvalSettings",
    "Prediction",
    "Reporter",
    "RichReporter",
    "RunDirectory",
    "SilentReporter",
    "Stage",
    "evaluate",
    "run_identity",
]
