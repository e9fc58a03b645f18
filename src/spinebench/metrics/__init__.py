"""Scores of a run, per the SpineBench protocol, with intervals, chance lines and circular evaluation.

- SDD: accuracy = correct / scored.
- SLL: exact-set accuracy, and precision, recall and F1 computed per question and then averaged over the
  scored questions (sample-averaged, the usual choice for multi-label answers); an unparsed or refused answer
  is the empty set, with precision, recall and F1 of 0.
- Overall = mean of SDD accuracy and SLL exact-set accuracy (None when either task has no scored question).
- SSG (severity grading): accuracy, quadratic-weighted kappa, severe-case sensitivity and specificity, per
  condition and level, with a confusion matrix; chance lines from the grade distribution (see
  `severity_scores`). Reported beside Overall, never folded into it.
- Unparsed and refused answers are scored as wrong. Infrastructure errors and unanswered questions are not
  scored at all; they make the run "incomplete".
- Every metric gets a 95% interval clustered on patients (images where the benchmark has no patient):
  Wilson at the clustered effective size for accuracies and rates, the cluster bootstrap for combined
  scores (overall, balanced accuracy, macro-F1); see `spinebench.stats` and docs/statistics.md. Each has a
  chance line: the expected score of an answerer that ignores the image, averaged over the group's questions.
- SDD also gets balanced accuracy and macro-F1; SLL recall and precision per level.
- `compare_runs`: paired differences with clustered intervals and clustered paired tests, and the
  minimum detectable difference at the pair's discordance rate.
- Circular evaluation: SDD question Q is also asked with its options rotated left by k = 1..n-1 (prediction
  ids "Q@r<k>"). Plain metrics read rotation 0 only; circular accuracy counts Q right only when every
  rotation is right, and leaves out (and marks the run incomplete for) questions with a rotation missing or
  failed. Position bias compares how often each letter is chosen with how often it is right.
- Paraphrases: question Q is also asked in other wordings of the pool (ids "Q@p<j>"); consistency is the
  share of questions answered alike in every wording (`paraphrase_scores`).
- Image reliance: accuracy of a run minus that of its image-control run, paired and clustered on patients,
  with the clustered paired tests of `compare_runs` (`image_reliance`).
"""

from spinebench.metrics._compare import compare_runs
from spinebench.metrics._outcome import SLL_METRICS, Outcome, Tally, outcomes, question_chance
from spinebench.metrics._paraphrase import (
    PARAPHRASE_MARK,
    ParaphraseId,
    max_paraphrases,
    paraphrase_id,
    paraphrase_scores,
    paraphrases,
    split_paraphrase_id,
)
from spinebench.metrics._reliance import image_reliance
from spinebench.metrics._rotation import (
    ROTATION_MARK,
    RotationId,
    rotate,
    rotation_id,
    rotations,
    split_rotation_id,
    unrotate_letter,
)
from spinebench.metrics._scores import score_run
from spinebench.metrics._severity import (
    ANSWER_COLUMNS,
    GRADING_METRICS,
    NO_ANSWER,
    answered_grade,
    confusion_metrics,
    grade_chance,
    kappa_weights,
    severity_scores,
)

__all__ = [
    "ANSWER_COLUMNS",
    "GRADING_METRICS",
    "NO_ANSWER",
    "PARAPHRASE_MARK",
    "ROTATION_MARK",
    "SLL_METRICS",
    "Outcome",
    "ParaphraseId",
    "RotationId",
    "Tally",
    "answered_grade",
    "compare_runs",
    "confusion_metrics",
    "grade_chance",
    "image_reliance",
    "kappa_weights",
    "max_paraphrases",
    "outcomes",
    "paraphrase_id",
    "paraphrase_scores",
    "paraphrases",
    "question_chance",
    "rotate",
    "rotation_id",
    "rotations",
    "score_run",
    "severity_scores",
    "split_paraphrase_id",
    "split_rotation_id",
    "unrotate_letter",
]
