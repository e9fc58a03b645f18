"""Running a model over a benchmark: the run directory, the runner, image controls and progress display."""

from spinebench.run._directory import JUDGE_CACHE, PREDICTIONS, RUN_JSON, SCORES_JSON, RunDirectory
from spinebench.run._image_control import (
    BLANK_LEVEL,
    IMAGE_CONTROLS,
    ControlledImages,
    ImageControl,
    ImageControlError,
    blank_image,
    noise_image,
    shuffle_donors,
)
from spinebench.run._judge import Judge
from spinebench.run._progress import Reporter, RichReporter, SilentReporter
from spinebench.run._runner import (
    MODEL_HELP,
    EvalResult,
    EvalSettings,
    EvalSettingsError,
    Executor,
    QuestionAnswerer,
    controlled_images,
    evaluate,
    make_answerer,
    run_identity,
    variants,
)

__all__ = [
    "BLANK_LEVEL",
    "IMAGE_CONTROLS",
    "JUDGE_CACHE",
    "MODEL_HELP",
    "PREDICTIONS",
    "RUN_JSON",
    "SCORES_JSON",
    "ControlledImages",
    "EvalResult",
    "EvalSettings",
    "EvalSettingsError",
    "Executor",
    "ImageControl",
    "ImageControlError",
    "Judge",
    "QuestionAnswerer",
    "Reporter",
    "RichReporter",
    "RunDirectory",
    "SilentReporter",
    "blank_image",
    "controlled_images",
    "evaluate",
    "make_answerer",
    "noise_image",
    "run_identity",
    "shuffle_donors",
    "variants",
]
