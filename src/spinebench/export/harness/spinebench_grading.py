# Written by `spinebench export` beside the inspect_ai task and the lmms-eval utils; imports nothing but the
# standard library, so it runs where spinebench is not installed.
"""Severity grading (SSG) for the exported harness files: [truth, answer] grade pairs and their metrics.

spinebench.metrics computes the same numbers from the same pairs (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

LETTERS = "ABCDEFGHIJ"
GRADES = ("Normal/Mild", "Moderate", "Severe")
NO_ANSWER = 3  # the answer column of an unparsed or refused reply


def grade_pair(options: Sequence[str], answer: Sequence[str], letters: Sequence[str]) -> list[int]:
    """[truth grade, answered grade] of an SSG question: 0..2 for Normal/Mild..Severe, 3 for no answer."""
    truth = GRADES.index(options[LETTERS.index(answer[0])])
    chosen = sorted(set(letters))
    if len(chosen) != 1 or chosen[0] not in LETTERS[: len(options)]:
        return [truth, NO_ANSWER]
    text = options[LETTERS.index(chosen[0])]
    return [truth, GRADES.index(text) if text in GRADES else NO_ANSWER]


def grading_summary(pairs: Sequence[Sequence[int]]) -> dict[str, float]:
    """Accuracy, quadratic-weighted kappa, severe sensitivity and specificity of [truth, answer] pairs.

    A no-answer is wrong and disagrees fully (weight 1) in kappa; it counts for neither sensitivity nor
    specificity. NaN where a metric is undefined (no question, no Severe case, no expected disagreement).
    """
    counts = [[0.0] * 4 for _ in GRADES]
    for truth, answer in pairs:
        counts[int(truth)][int(answer)] += 1
    total = sum(sum(row) for row in counts)
    nan = float("nan")
    if not total:
        return {"accuracy": nan, "weighted_kappa": nan, "severe_sensitivity": nan, "severe_specificity": nan}
    rows = [sum(row) for row in counts]
    columns = [sum(counts[i][j] for i in range(3)) for j in range(4)]

    def weight(i: int, j: int) -> float:
        return 1.0 if j == NO_ANSWER else (i - j) ** 2 / 4

    observed = sum(weight(i, j) * counts[i][j] for i in range(3) for j in range(4)) / total
    expected = sum(weight(i, j) * rows[i] * columns[j] for i in range(3) for j in range(4)) / total**2
    others = rows[0] + rows[1]
    rejected = sum(counts[i][j] for i in range(2) for j in range(2))
    return {
        "accuracy": sum(counts[i][i] for i in range(3)) / total,
        "weighted_kappa": 1 - observed / expected if expected > 0 else nan,
        "severe_sensitivity": counts[2][2] / rows[2] if rows[2] else nan,
        "severe_specificity": rejected / others if others else nan,
    }
