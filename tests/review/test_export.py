"""Exported human runs are ordinary runs: scored, reported and ranked like a model's, paired on the items."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinebench.benchmark import open_sample
from spinebench.cli import app
from spinebench.errors import SpineBenchError
from spinebench.report import (
    LeaderboardRow,
    ReportSettings,
    format_leaderboard,
    load_runs,
    render_html_report,
)
from spinebench.review import (
    Answer,
    Rating,
    ReviewDatabaseError,
    ReviewSettings,
    create_invite,
    export_reviews,
    item_ids,
    load_traces,
    record_answer,
    record_rating,
    setup_review,
)
from spinebench.review._invites import set_named
from spinebench.run import RunDirectory


def _reviewed(tmp_path: Path, run: Path) -> Path:
    """Two reviewers: Ada answers every item correctly (and opts in to her name), Bo answers three."""
    sample = open_sample()
    db_path = tmp_path / "review.sqlite"
    database = setup_review(db_path, sample, [run], ReviewSettings(per_stratum=1, traces_per_task=3))
    create_invite(database, "Ada Lovelace")
    create_invite(database, "Bo")
    questions = {q.id: q for q in sample.iter_questions()}
    items = item_ids(database)
    for question_id in items:
        record_answer(
            database, Answer(1, question_id, questions[question_id].answer, 4.0, "2026-01-01T00:00:00+00:00")
        )
    for question_id in items[:3]:
        record_answer(database, Answer(2, question_id, (), None, "2026-01-01T00:00:00+00:00"))
    set_named(database, 1, True)
    for number, trace in enumerate(load_traces(database)):
        for reviewer, score in ((1, 5), (2, 3 if number % 2 else 5)):
            scores = {"findings": score, "knowledge": 3, "logic": score, "usefulness": 1}
            record_rating(
                database, Rating(reviewer, trace.id, scores, "<b>note</b>", "2026-01-01T00:00:00+00:00")
            )
    return db_path


def test_export_writes_human_runs_that_score_and_report_like_any_run(
    tmp_path: Path, hostile_run: Path
) -> None:
    db_path = _reviewed(tmp_path, hostile_run)
    result = export_reviews(db_path, open_sample(), tmp_path / "out")
    assert set(result.runs) == {"human:Ada Lovelace", "human:reviewer-2"}  # Bo did not opt in: pseudonym
    ada = result.runs["human:Ada Lovelace"]
    assert RunDirectory(ada).read_run_json()["identity"]["model"] == "human:Ada Lovelace"

    loaded = load_runs([ada, result.runs["human:reviewer-2"], hostile_run])
    ada_scores = loaded[0].scores
    assert ada_scores["status"] == "complete"  # only the shared item set counts
    assert ada_scores["counts"]["questions"] == len(loaded[0].questions) < 38
    assert ada_scores["tasks"]["SDD"]["accuracy"] == 1.0
    bo = loaded[1].scores
    assert bo["counts"]["refused"] == 3 and bo["counts"]["pending"] == len(loaded[1].questions) - 3

    table = format_leaderboard([LeaderboardRow.from_scores(r.label, r.scores) for r in loaded], "md")
    assert "human:Ada Lovelace" in table and "100.00" in table
    board = CliRunner().invoke(app, ["leaderboard", str(ada), str(hostile_run), "--format", "csv"])
    assert board.exit_code == 0 and "human:Ada Lovelace" in board.output

    ratings = tmp_path / "out" / "ratings.csv"
    rows = list(csv.DictReader(ratings.open(encoding="utf-8")))
    assert {row["rater"] for row in rows} == {"human:Ada Lovelace", "human:reviewer-2"}
    assert {row["model"] for row in rows} == {"random"} and rows[0]["run"] == hostile_run.name

    report = tmp_path / "report.html"
    made = CliRunner().invoke(
        app, ["report", str(ada), str(hostile_run), "--ratings", str(ratings), "--out", str(report)]
    )
    assert made.exit_code == 0, made.output
    html = report.read_text(encoding="utf-8")
    assert 'id="ratings"' in html and "Krippendorff" in html
    assert "Paired comparison with human:Ada Lovelace" in html  # models compared on the humans' items
    humans = html.split('id="humans"', 1)[1].split("</section>", 1)[0]
    sdd_items = sum(q.task == "SDD" for q in loaded[0].questions)
    row = f"<td>random</td><td>human:Ada Lovelace</td><td>SDD</td><td>{sdd_items}</td><td>accuracy</td>"
    assert row in humans  # every model against every human, on the human's items, in any run order
    assert "<td>100.00</td><td>-" in humans.split(row, 1)[1].split("</tr>", 1)[0]  # human 100%, model below
    assert "<b>note</b>" not in html


def test_export_and_report_say_clearly_when_nothing_was_answered(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    database = setup_review(db, open_sample(), [], ReviewSettings())
    create_invite(database, "Ada")
    runner = CliRunner()
    result = runner.invoke(app, ["review", "export", "--db", str(db), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Nothing to export: 1 reviewer(s) invited, no answers and no ratings yet." in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text(
        "trace_id,model,run,question_id,task,rater,findings,knowledge,logic,usefulness,comment\n"
    )
    sample = open_sample()
    from spinebench.run import EvalSettings, evaluate

    run = evaluate(sample, tmp_path / "prior", EvalSettings(model="prior")).run_dir
    html = render_html_report([run], ReportSettings(ratings=(empty,))).html
    assert "No ratings yet" in html


def test_export_of_a_missing_database_names_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["review", "export", "--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "none.sqlite: no such review database" in result.output


def test_reviewers_whose_names_give_one_folder_name_keep_every_answer(tmp_path: Path) -> None:
    sample = open_sample()
    db_path = tmp_path / "review.sqlite"
    database = setup_review(db_path, sample, [], ReviewSettings(per_stratum=1))
    create_invite(database, "Dr Ada")
    create_invite(database, "Dr/Ada")
    create_invite(database, "Bo")
    create_invite(database, "bo")  # one folder with Bo's where file names ignore case (macOS, Windows)
    items = item_ids(database)
    for reviewer, count in ((1, 3), (2, 1), (3, 2), (4, 1)):
        set_named(database, reviewer, True)
        for question_id in items[:count]:
            record_answer(database, Answer(reviewer, question_id, ("A",), 2.0, "2026-01-01T00:00:00+00:00"))

    first = export_reviews(db_path, sample, tmp_path / "out")
    assert set(first.runs) == {"human:Dr Ada", "human:Dr/Ada", "human:Bo", "human:bo"}
    assert len({path.name.lower() for path in first.runs.values()}) == 4
    for model, count in (("human:Dr Ada", 3), ("human:Dr/Ada", 1), ("human:Bo", 2), ("human:bo", 1)):
        directory = RunDirectory(first.runs[model])
        assert directory.read_run_json()["identity"]["model"] == model
        assert len(directory.load_predictions()) == count
    again = export_reviews(db_path, sample, tmp_path / "again")
    assert {m: p.name for m, p in again.runs.items()} == {m: p.name for m, p in first.runs.items()}


def test_two_reviewers_under_one_label_are_refused_not_merged(tmp_path: Path) -> None:
    sample = open_sample()
    db_path = tmp_path / "review.sqlite"
    database = setup_review(db_path, sample, [], ReviewSettings(per_stratum=1))
    create_invite(database, "Ada")
    with pytest.raises(ReviewDatabaseError, match="looks like a pseudonym"):
        create_invite(database, "Reviewer-1")
    # A database from before that check: reviewer 2 opted in under reviewer 1's pseudonym.
    with database.transaction() as connection:
        connection.execute(
            "INSERT INTO reviewers (name, pseudonym, named, created) "
            "VALUES ('reviewer-1', 'reviewer-2', 1, '')"
        )
    for reviewer in (1, 2):
        record_answer(
            database, Answer(reviewer, item_ids(database)[0], ("A",), 2.0, "2026-01-01T00:00:00+00:00")
        )
    with pytest.raises(SpineBenchError, match="both be exported as human:reviewer-1"):
        export_reviews(db_path, sample, tmp_path / "out")
    assert not any((tmp_path / "out").glob("human-*"))
