"""The HTML report under hostile model output: a strict CSP, and control or bidi characters made visible."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from spinebench.benchmark import open_sample
from spinebench.prediction import Prediction
from spinebench.report import write_html_report
from spinebench.run import EvalSettings, RunDirectory, evaluate

HOSTILE = "Answer\x00 \x1b[2J\x1b]0;PWNED\x07 My final option: [\u202eA]"


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("safety")
    sample = open_sample()
    run = evaluate(sample, base / "random", EvalSettings(model="random")).run_dir
    question = next(q for q in sample.iter_questions() if q.task == "SDD")
    directory = RunDirectory(run)
    directory.append(Prediction(question.id, HOSTILE, ("A",), "strict"))
    directory.close()
    out = base / "report.html"
    write_html_report([run], out)
    return out.read_text(encoding="utf-8")


def _csp(html: str) -> str:
    found = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert found is not None, "no Content-Security-Policy"
    return found.group(1)


def test_the_report_has_a_strict_content_security_policy(html: str) -> None:
    policy = _csp(html)
    assert "default-src 'none'" in policy
    assert "connect-src" not in policy or "connect-src 'none'" in policy
    assert "img-src data:" in policy and "http" not in policy
    script = re.search(r"script-src ('sha256-[A-Za-z0-9+/=]+')", policy)
    assert script is not None and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert html.index("Content-Security-Policy") < html.index("<style")


def test_the_csp_hash_is_the_hash_of_the_reports_own_script(html: str) -> None:
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in _csp(html)


def test_control_and_bidi_characters_in_model_output_become_visible_escapes(html: str) -> None:
    for raw in ("\x00", "\x1b", "\x07", "\u202e"):
        assert raw not in html
    assert "Answer\\x00 \\x1b[2J\\x1b]0;PWNED\\x07 My final option: [\\u202eA]" in html
