"""Built-in baselines: answerers on the task side that make the chance lines and the visual reference real.

`random`, `prior` and `constant:<answer>` answer without looking; `knn` answers from image embeddings alone.
Each satisfies `Baseline`: it is fitted on the run's benchmark and answers a `Question` (with the image the
run would send), never a chat request.
"""

from spinebench.baselines._baseline import Baseline, BaselineAnswer
from spinebench.baselines._chance import ConstantBaseline, PriorBaseline, RandomBaseline
from spinebench.baselines._knn import DEFAULT_K, KnnBaseline, KnnBaselineError
from spinebench.baselines._spec import BASELINE_HELP, BaselineOptions, is_baseline_spec, make_baseline

__all__ = [
    "BASELINE_HELP",
    "DEFAULT_K",
    "Baseline",
    "BaselineAnswer",
    "BaselineOptions",
    "ConstantBaseline",
    "KnnBaseline",
    "KnnBaselineError",
    "PriorBaseline",
    "RandomBaseline",
    "is_baseline_spec",
    "make_baseline",
]
