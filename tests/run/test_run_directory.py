from __future__ import annotations

import os
from pathlib import Path

import pytest

from spinebench.errors import RunDirectoryError
from spinebench.prediction import Prediction
from spinebench.run import PREDICTIONS, RunDirectory


def test_latest_line_wins_and_torn_last_line_is_cut(tmp_path: Path) -> None:
    run = RunDirectory.prepare(tmp_path / "run", {"model": "m"})
    run.append(Prediction("q1", response=None, error={"kind": "server", "message": "500"}))
    run.append(Prediction("q2", response="r", letters=("B",), stage="strict"))
    run.append(Prediction("q1", response="r", letters=("A",), stage="tolerant"))
    run.close()
    file = tmp_path / "run" / PREDICTIONS
    with file.open("ab") as handle:
        handle.write(b'{"question_id": "q3", "resp')  # what kill -9 mid-write could leave
    loaded = run.load_predictions()
    assert loaded["q1"].letters == ("A",) and not loaded["q1"].failed
    assert set(loaded) == {"q1", "q2"}
    assert file.read_bytes().endswith(b"}\n")


def test_corrupt_middle_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    run = RunDirectory.prepare(tmp_path, {"model": "m"})
    run.append(Prediction("q1", response="r", letters=("A",), stage="strict"))
    run.close()
    with (tmp_path / PREDICTIONS).open("a") as handle:
        handle.write("garbage\n")
    run.append(Prediction("q2", response="r", letters=("A",), stage="strict"))
    with pytest.raises(RunDirectoryError, match="line 2 is not a prediction"):
        run.load_predictions()


def test_other_configuration_is_refused(tmp_path: Path) -> None:
    run = RunDirectory.prepare(tmp_path, {"model": "a", "params": {"temperature": 0.0}})
    run.write_run_json({"identity": {"model": "a", "params": {"temperature": 0.0}}})
    run.append(Prediction("q1", response="r", letters=("A",), stage="strict"))
    run.close()
    RunDirectory.prepare(tmp_path, {"model": "a", "params": {"temperature": 0.0}}).close()
    with pytest.raises(RunDirectoryError, match=r"params\.temperature was 0\.0, now 0\.7.*--overwrite"):
        RunDirectory.prepare(tmp_path, {"model": "a", "params": {"temperature": 0.7}})


def test_other_configuration_without_answers_starts_afresh(tmp_path: Path) -> None:
    run = RunDirectory.prepare(tmp_path, {"model": "typo"})
    run.write_run_json({"identity": {"model": "typo"}})
    run.append(Prediction("q1", response=None, error={"kind": "client", "message": "HTTP 404"}))
    run.close()
    fresh = RunDirectory.prepare(tmp_path, {"model": "right"})
    assert fresh.read_run_json() is None and fresh.load_predictions() == {}
    fresh.close()


def test_overwrite_discards_the_answers_of_another_configuration(tmp_path: Path) -> None:
    run = RunDirectory.prepare(tmp_path, {"model": "a"})
    run.write_run_json({"identity": {"model": "a"}})
    run.append(Prediction("q1", response="r", letters=("A",), stage="strict"))
    run.close()
    fresh = RunDirectory.prepare(tmp_path, {"model": "b"}, overwrite=True)
    assert fresh.load_predictions() == {}
    fresh.close()


def test_a_locked_run_directory_is_refused_naming_the_holder(tmp_path: Path) -> None:
    holder = RunDirectory.prepare(tmp_path, {"model": "a"})
    with pytest.raises(RunDirectoryError, match=f"another eval \\(PID {os.getpid()}\\)"):
        RunDirectory.prepare(tmp_path, {"model": "a"})
    holder.close()
    RunDirectory.prepare(tmp_path, {"model": "a"}).close()  # released on close


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / ".lock").write_text("999999\n")  # a PID no live process holds the lock for
    run = RunDirectory.prepare(tmp_path, {"model": "a"})
    assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
    run.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(RunDirectoryError, match="locked: cannot write"):
        RunDirectory.prepare(locked / "run", {})


def test_directory_under_a_file_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunDirectoryError, match="cannot write the run directory"):
        RunDirectory.prepare(blocker / "run", {})


def test_a_full_disk_is_named_not_a_traceback(tmp_path: Path) -> None:
    run = RunDirectory.prepare(tmp_path / "run", {"model": "m"})
    (tmp_path / "run" / PREDICTIONS).touch()
    run._fd = os.open(tmp_path / "run" / PREDICTIONS, os.O_RDONLY)  # any write now fails, as on a full disk
    try:
        with pytest.raises(RunDirectoryError, match=r"predictions\.jsonl: cannot append a prediction"):
            run.append(Prediction("q1", response="r", letters=("A",), stage="strict"))
    finally:
        run.close()
    (tmp_path / "run" / "scores.json.partial").mkdir()  # where scores.json is written first
    with pytest.raises(RunDirectoryError, match=r"scores\.json: cannot write"):
        run.write_scores({"status": "complete"})


def test_a_write_cut_short_is_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = RunDirectory.prepare(tmp_path / "run", {"model": "m"})
    real_write = os.write
    calls: list[int] = []

    def short_first(fd: int, data: bytes) -> int:
        calls.append(len(data))
        return real_write(fd, bytes(data[: max(1, len(data) // 2)]) if len(calls) == 1 else data)

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", short_first)
        run.append(Prediction("q1", response="r", letters=("A",), stage="strict"))
    run.append(Prediction("q2", response="r", letters=("B",), stage="strict"))
    run.close()
    assert len(calls) == 2
    assert set(run.load_predictions()) == {"q1", "q2"}
