from __future__ import annotations

from pathlib import Path

import pytest

from spinebench.benchmark import open_sample
from spinebench.prediction import Prediction
from spinebench.run import EvalSettings, RunDirectory, evaluate

HOSTILE = (
    "Reasoning <script>window.__pwned = 1</script> then "
    '<img src=x onerror="window.__pwned = 2"> & more.\nMy final option: [A]'
)


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-baseline run on the bundled sample whose every response is a hostile HTML payload."""
    sample = open_sample()
    run = evaluate(sample, tmp_path_factory.mktemp("runs") / "random", EvalSettings(model="random")).run_dir
    directory = RunDirectory(run)
    for question in sample.iter_questions():
        directory.append(Prediction(question.id, HOSTILE, ("A",), "strict"))
    directory.close()
    return run
