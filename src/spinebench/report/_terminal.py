"""Scores as rich tables for the terminal."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from spinebench.display import terminal_safe
from spinebench.report._audit import Audit
from spinebench.taxonomy import TASK_TITLES


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def scores_table(scores: dict[str, Any], *, title: str) -> Table:
    """Per-task scores with the counts that qualify them; says INCOMPLETE when errors or gaps remain."""
    status = scores["status"]
    caption_parts = [f"overall {_percent(scores['overall'])}"]
    counts = scores["counts"]
    if status != "complete":
        caption_parts.append(
            f"[bold red]INCOMPLETE[/]: {counts['errors']} errors, {counts['pending']} unanswered "
            "(not scored; run the same command again to retry)"
        )
    circular = scores["tasks"].get("SDD", {}).get("circular_accuracy")
    if "circular_accuracy" in scores["tasks"].get("SDD", {}):
        caption_parts.append(f"SDD circular {_percent(circular)} (all 5 option rotations right)")
    for task, paraphrase in scores.get("paraphrase", {}).items():
        consistency = paraphrase["consistency"]["value"]
        caption_parts.append(
            f"{task} consistency {_percent(consistency)} ({paraphrase['wordings']} wordings)"
        )
    grading = scores["tasks"].get("SSG")
    if grading and "weighted_kappa" in grading:
        kappa = grading["weighted_kappa"]
        caption_parts.append(
            f"SSG (beside overall, not in it): weighted kappa {'-' if kappa is None else f'{kappa:.3f}'}, "
            f"severe sensitivity {_percent(grading['severe_sensitivity'])}, "
            f"specificity {_percent(grading['severe_specificity'])}"
        )
    caption_parts.append(" ".join(f"{task} = {TASK_TITLES[task].lower()}" for task in scores["tasks"]))
    # The title names the model, which is the user's text: shown as is, never read as console markup.
    table = Table(title=Text(terminal_safe(title)), caption=" | ".join(caption_parts), caption_justify="left")
    for column in ("task", "scored", "acc %", "prec %", "rec %", "F1 %", "unparsed", "refused", "errors"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, result in scores["tasks"].items():
        table.add_row(
            task,
            f"{result['scored']}/{result['questions']}",
            _percent(result["accuracy"]),
            _percent(result.get("precision")),
            _percent(result.get("recall")),
            _percent(result.get("f1")),
            str(result["unparsed"]),
            str(result["refused"]),
            str(result["errors"]),
        )
    return table


def breakdown_table(scores: dict[str, Any], key: str, *, title: str) -> Table:
    """Accuracy per value of `key` ("disease", "source" or "modality") and task."""
    table = Table(title=title)
    for column in ("task", key, "scored", "accuracy %"):
        table.add_column(column, justify="right" if column in ("scored", "accuracy %") else "left")
    for task, groups in scores.get(f"by_{key}", {}).items():
        for value, result in groups.items():
            # The value comes from the benchmark's files: no markup, no terminal control characters.
            shown = Text(terminal_safe(str(value)))
            table.add_row(
                task, shown, f"{result['scored']}/{result['questions']}", _percent(result["accuracy"])
            )
    return table


def _points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.2f}"


def _interval(ci: list[float] | None) -> str:
    return "" if not ci else f" [{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}]"


def reliance_tables(audit: Audit, *, details: bool = True) -> list[Table]:
    """Per control run: reliance per task (and per disease with `details`), then the references."""
    tables = []
    for pairing in audit.controls:
        table = Table(
            title=Text(
                terminal_safe(f"Image reliance of {audit.run.label}: real images minus {pairing.label}")
            ),
            caption="reliance = accuracy(real) - accuracy(control), points, paired 95% interval (cluster "
            "bootstrap, patients resampled whole); changed = answers that differ; p = cluster sign-flip test",
            caption_justify="left",
        )
        for column in (
            "task",
            "disease",
            "paired",
            "clusters",
            "real %",
            "control %",
            "reliance",
            "changed %",
            "p",
            "verdict",
        ):
            table.add_column(column, justify="left" if column in ("task", "disease", "verdict") else "right")
        for task, entry in pairing.tasks.items():
            rows = [("all", entry)] + (list(entry["by_disease"].items()) if details else [])
            for disease, row in rows:
                verdict = "not told apart" if row["indistinguishable"] else "uses the image"
                table.add_row(
                    task,
                    Text(terminal_safe(disease)),
                    str(row["paired"]),
                    str(row["clusters"]),
                    _percent(row["real_accuracy"]),
                    _percent(row["control_accuracy"]),
                    _points(row["reliance"]) + _interval(row["ci"]),
                    _percent(row["changed"]),
                    f"{row['test']['p_sign_flip']:.3g}",
                    verdict,
                )
        tables.append(table)
    references = Table(title=Text(terminal_safe(f"References on the questions of {audit.run.label}")))
    for column in ("answerer", "scores from", "SDD acc %", "SLL acc %"):
        references.add_column(column)
    own = audit.run.scores["tasks"]
    references.add_row(
        Text(terminal_safe(audit.run.label)),
        "the real run",
        *(_percent(own.get(task, {}).get("accuracy")) for task in ("SDD", "SLL")),
    )
    for reference in audit.references:
        references.add_row(
            Text(terminal_safe(reference.label)),
            reference.meaning,
            *(
                _percent(reference.tasks[task].value) if task in reference.tasks else "-"
                for task in ("SDD", "SLL")
            ),
        )
    tables.append(references)
    return tables
