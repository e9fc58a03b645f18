from __future__ import annotations

import io

from rich.console import Console

from spinebench.benchmark import Question
from spinebench.metrics import score_run
from spinebench.prediction import Prediction
from spinebench.report import scores_table


def _render(title: str) -> str:
    question = Question("q", "SDD", "img", "?", ("a", "b", "c", "d", "e"), ("A",), "Healthy", "s", "xray")
    scores = score_run([question], {"q": Prediction("q", "My final option: [A]", ("A",), "strict")})
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(scores_table(scores, title=title))
    return buffer.getvalue()


def test_a_model_name_with_brackets_is_printed_as_written() -> None:
    # Served model names are free text; "[/]" once raised MarkupError and "[bold]" vanished from the title.
    assert "my[/]model [bold]v2 on bench" in _render("my[/]model [bold]v2 on bench")
