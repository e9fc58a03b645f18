from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = _commands((ROOT / "README.md").read_text())
    last = (ROOT / ".ci/run").read_text().strip().splitlines()[-1]
    assert last in readme
    assert last.endswith("pytest")


def test_readme_quickstart_runs_eval_on_the_bundled_sample() -> None:
    readme = _commands((ROOT / "README.md").read_text())
    assert readme[0].endswith("spinebench eval --model random")
