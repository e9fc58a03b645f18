"""`spinebench rubric`: the LLM judge scores the four axes, cached; the report shows judge-human agreement."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from spinebench.benchmark import open_sample
from spinebench.cli import app
from spinebench.report import ReportSettings, read_ratings, render_html_report, summarise_ratings
from spinebench.review import (
    Rating,
    ReviewSettings,
    create_invite,
    export_reviews,
    load_traces,
    parse_rubric,
    record_rating,
    setup_review,
)
from spinebench.testing import OpenAIStubServer, answer_script

REPLY = "findings: 5\nknowledge: 3\nlogic: 5\nusefulness: 1"


def test_parse_rubric_takes_only_clear_scores() -> None:
    assert parse_rubric(REPLY) == {"findings": 5, "knowledge": 3, "logic": 5, "usefulness": 1}
    assert parse_rubric("**Findings**: 3\nknowledge = 4\nlogic: 1\nlogic: 5") == {
        "findings": 3,
        "knowledge": None,
        "logic": None,
        "usefulness": None,
    }  # 4 is off the scale; two different logic scores are not guessed between


def test_rubric_cli_scores_caches_and_agrees_with_humans_in_the_report(
    tmp_path: Path, hostile_run: Path
) -> None:
    runner = CliRunner(env={"STUB_KEY": "k"})
    out = tmp_path / "rubric.csv"
    with OpenAIStubServer(answer_script(REPLY)) as server:
        args = [
            "rubric",
            str(hostile_run),
            "--judge",
            "openai:stub-model",
            "--base-url",
            server.base_url,
            "--api-key-env",
            "STUB_KEY",
            "--traces-per-task",
            "2",
            "--out",
            str(out),
        ]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "4 of 4 traces scored on every axis (4 judge call(s)" in first.output
        again = runner.invoke(app, args)
        assert "(0 judge call(s)" in again.output and server.request_count == 4  # cached
        prompt = server.requests[0].body["messages"][-1]["content"]
        assert any(part.get("type") == "image_url" for part in prompt)  # the judge sees the image
    rows = read_ratings([out])
    assert {r.rater for r in rows} == {"judge:openai:stub-model"} and rows[0].scores["findings"] == 5

    # Two humans rate the same traces (the review app picks them with the same seed).
    db = tmp_path / "review.sqlite"
    database = setup_review(db, open_sample(), [hostile_run], ReviewSettings(traces_per_task=2))
    create_invite(database, "Ada")
    create_invite(database, "Bo")
    traces = load_traces(database)
    assert {t.id for t in traces} == {r.trace_id for r in rows}
    for trace in traces:
        record_rating(
            database,
            Rating(1, trace.id, {"findings": 5, "knowledge": 3, "logic": 5, "usefulness": 1}, "", "t"),
        )
        record_rating(
            database,
            Rating(2, trace.id, {"findings": 5, "knowledge": 3, "logic": 3, "usefulness": 1}, "", "t"),
        )
    exported = export_reviews(db, open_sample(), tmp_path / "export")
    assert exported.ratings is not None
    summary = summarise_ratings(read_ratings([exported.ratings, out]))
    judge = dict(
        zip(
            ["findings", "knowledge", "logic", "usefulness"],
            summary.judge_agreement["judge:openai:stub-model"],
            strict=True,
        )
    )
    assert judge["findings"].exact == 1.0 and judge["logic"].exact == 0.5 and judge["logic"].units == 8
    html = render_html_report([hostile_run], ReportSettings(ratings=(exported.ratings, out))).html
    assert "judge:openai:stub-model vs humans" in html
