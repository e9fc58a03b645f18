from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from spinebench.benchmark import open_sample
from spinebench.cli.leaderboard_cmd import leaderboard_command
from spinebench.cli.report_cmd import report_command
from spinebench.metrics import rotations
from spinebench.prediction import Prediction
from spinebench.report import ReportSettings, render_html_report, write_html_report
from spinebench.run import RUN_JSON, EvalSettings, RunDirectory, evaluate

PAYLOAD = (
    "<script>alert(1)</script><b>x</b>"
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','1')\">"
)
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and Path(p).exists()), None)


def _cli() -> typer.Typer:
    """The two commands on their own app (independent of their registration in spinebench.cli)."""
    cli = typer.Typer()
    cli.command("report")(report_command)
    cli.command("leaderboard")(leaderboard_command)
    return cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Random and prior runs on the bundled sample; the random one is circular, with a hostile response."""
    base = tmp_path_factory.mktemp("runs")
    sample = open_sample()
    made = []
    for model in ("random", "prior"):
        made.append(evaluate(sample, base / model, EvalSettings(model=model)).run_dir)
    run_dir = RunDirectory(made[0])
    questions = list(sample.iter_questions())
    first_sdd = next(q for q in questions if q.task == "SDD")
    run_dir.append(Prediction(first_sdd.id, PAYLOAD, (first_sdd.answer[0],), "strict", latency_s=0.5))
    for question in questions:
        if question.task == "SDD":
            for turned in rotations(question)[1:]:
                run_dir.append(
                    Prediction(turned.id, "My final option: [A]", ("A",), "strict", latency_s=0.25)
                )
    run_dir.close()
    return made


@pytest.fixture(scope="module")
def report(runs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    write_html_report(runs, out)
    return out


def test_report_holds_leaderboard_chance_and_every_question(report: Path) -> None:
    html = report.read_text()
    assert "<h2>Leaderboard</h2>" in html and "Chance line" in html
    for question in open_sample().iter_questions():
        assert f'data-id="{question.id}"' in html
    assert html.count('<li class="item"') == 38
    assert "https://" not in html and "http://" not in html  # nothing fetched: works offline
    assert html.count("data:image/jpeg;base64,") == len({q.image for q in open_sample().iter_questions()})


def test_model_output_is_escaped_never_markup(report: Path) -> None:
    html = report.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in html
    assert "<script>alert" not in html and "<b>x</b>" not in html and "<img src=x" not in html
    assert html.count("<script") == 2  # the thumbnail data and the viewer's own script


def test_circular_section_and_position_bias_appear_for_the_circular_run(
    report: Path, runs: list[Path]
) -> None:
    html = report.read_text()
    assert 'id="circular"' in html and "SDD circular accuracy (5 rotations)" in html
    rendered = render_html_report(runs)
    assert (rendered.items_shown, rendered.items_total) == (38, 38)


def test_same_runs_give_the_same_bytes(runs: list[Path], report: Path) -> None:
    assert render_html_report(runs, ReportSettings()).html == report.read_text()


def test_item_cap_samples_across_diseases(runs: list[Path]) -> None:
    rendered = render_html_report(runs, ReportSettings(max_items=12))
    html = rendered.html
    assert (rendered.items_shown, rendered.items_total) == (12, 38)
    assert html.count('<li class="item"') == 12
    assert "12 of 38 questions shown" in html
    tasks = set(re.findall(r'<li class="item" data-id="[^"]+" data-task="(\w+)"', html))
    assert tasks == {"SDD", "SLL"}


def test_missing_benchmark_is_named_and_bench_option_points_at_it(
    runs: list[Path], sample_copy: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs[1], run)
    record = json.loads((run / RUN_JSON).read_text())
    record["benchmark_path"] = str(tmp_path / "moved-away")
    (run / RUN_JSON).write_text(json.dumps(record))
    runner = CliRunner()
    result = runner.invoke(_cli(), ["report", str(run), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "moved-away: no such benchmark folder" in result.output and "--bench" in result.output
    result = runner.invoke(
        _cli(), ["report", str(run), "--bench", str(sample_copy), "--out", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 0, result.output
    assert "38 of 38 questions" in result.output and (tmp_path / "r.html").exists()


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={tmp / 'profile'}",
        "--window-size=1280,900",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)"
)
def test_report_opens_in_headless_chromium_without_errors(report: Path, tmp_path: Path) -> None:
    dom = _chromium("--dump-dom", report.as_uri() + "#task=SLL", tmp=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-report-status="ok"' in dom.stdout
    assert re.search(r'<pre id="report-errors" hidden="">\s*</pre>', dom.stdout)
    assert ":CONSOLE" not in dom.stderr, [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert "data-pwned" not in dom.stdout.split("<body", 1)[0]  # the hostile <img onerror> never ran
    items = re.findall(r'<li class="item" data-id="[^"]+" data-task="(\w+)"[^>]*?( hidden="")?>', dom.stdout)
    assert len(items) == 38
    visible = [task for task, hidden in items if not hidden]
    assert visible == ["SLL"] * 14  # the filter in the address was applied


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (Debian: apt-get install chromium)"
)
def test_report_screenshot_shows_the_leaderboard(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    shot = _chromium(f"--screenshot={png}", report.as_uri(), tmp=tmp_path)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.exists() and png.stat().st_size > 20_000
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 900)
        colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    # The leaderboard's row-group headers (#eef2ff) are used nowhere else: the table is on screen.
    assert sum(count for count, colour in colours if colour == (0xEE, 0xF2, 0xFF)) > 5_000


def test_robustness_panel_shows_paraphrases_and_image_reliance_beside_circular(
    runs: list[Path], tmp_path: Path
) -> None:
    sample = open_sample()
    blank = evaluate(sample, tmp_path / "random-blank", EvalSettings(model="random", image_control="blank"))
    reworded = evaluate(sample, tmp_path / "prior-para", EvalSettings(model="prior", paraphrases=3))
    html = render_html_report([*runs, blank.run_dir, reworded.run_dir]).html
    robustness = html[html.index('<section id="robustness">') :]
    robustness = robustness[: robustness.index("</section>")]
    assert 'id="circular"' in robustness and 'id="paraphrase"' in robustness and 'id="reliance"' in robustness
    assert "<td>random</td><td>random [blank image]</td><td>SDD</td><td>all</td>" in robustness
    # random answers from its seed and the question id alone: the blank image changes nothing.
    assert "<td>0.00<span" in robustness and "not told apart" in robustness
    assert "<td>prior (prior-para)</td><td>SDD</td><td>3</td><td>100.00" in robustness  # wording unread
    assert '<a href="#robustness">Robustness</a>' in html
