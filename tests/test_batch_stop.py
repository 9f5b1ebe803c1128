"""A batch is whole: stopped by Ctrl-C (SIGINT) or SIGTERM part-way over an earlier run's
folder, it leaves that folder byte for byte as it was and no temporary file, and says so in
one line with exit code 130 or 143."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROW = "P{n:05d},clonazepam,{dose} mg,2,2027-01-04\n"


def _roster(path: Path, rows: int) -> None:
    doses = ("0.5", "1", "1.5", "2", "3", "4")
    text = "reference,drug,dose,per_day,start\n" + "".join(
        ROW.format(n=n, dose=doses[n % len(doses)]) for n in range(rows)
    )
    path.write_text(text, "utf-8")


def _state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _as_at_a_terminal() -> None:
    # a command started in the background of a script ignores Ctrl-C, and its children
    # inherit that; the batch is started as a terminal starts it, with Ctrl-C heeded
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _batch(tmp_path: Path, roster: str, *more: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "taper", "batch", roster, "--out-dir", "plans", *more],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_at_a_terminal,
    )


def _wait_for_fresh_folder(tmp_path: Path, running: subprocess.Popen[str]) -> None:
    """Until the batch is writing its fresh folder (two minutes at most)."""
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".plans.*.partial")) and time.monotonic() < deadline:
        assert running.poll() is None, running.communicate()[1]
        time.sleep(0.05)


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"]
)
def test_a_stopped_batch_leaves_the_earlier_run_as_it_was(
    tmp_path: Path, signum: int, code: int, jobs: str
) -> None:
    _roster(tmp_path / "small.csv", 4)
    first = _batch(tmp_path, "small.csv")
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    before = _state(tmp_path / "plans")
    _roster(tmp_path / "big.csv", 3000)
    running = _batch(tmp_path, "big.csv", "--force", "--jobs", jobs)
    # stopped once it is writing its fresh folder, part-way through the rows
    _wait_for_fresh_folder(tmp_path, running)
    time.sleep(1.0)
    assert running.poll() is None, "the batch ended before it could be stopped"
    running.send_signal(signum)
    _, err = running.communicate(timeout=120)
    assert running.returncode == code, err
    assert err.strip().splitlines()[-1].startswith("Error: stopped: nothing was written")
    assert "Traceback" not in err
    assert _state(tmp_path / "plans") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "plans", "small.csv"]


def test_a_batch_into_a_new_folder_lands_whole(tmp_path: Path) -> None:
    _roster(tmp_path / "small.csv", 3)
    done = _batch(tmp_path, "small.csv")
    assert done.wait(timeout=120) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plans", "small.csv"]
    assert {"summary.csv", "errors.csv", "supply.csv", "P00000.json"} <= set(
        _state(tmp_path / "plans")
    )


def test_a_killed_batch_s_fresh_folder_is_cleared_by_the_next_batch(tmp_path: Path) -> None:
    """SIGKILL cannot be caught: the batch's fresh folder stays behind, but no running batch
    holds its lock, so the next batch into the same folder removes it."""
    _roster(tmp_path / "big.csv", 3000)
    running = _batch(tmp_path, "big.csv")
    _wait_for_fresh_folder(tmp_path, running)
    time.sleep(0.5)
    running.send_signal(signal.SIGKILL)
    running.communicate(timeout=120)
    left = list(tmp_path.glob(".plans.*.partial"))
    assert len(left) == 1 and (left[0] / ".lock").exists()
    _roster(tmp_path / "small.csv", 3)
    done = _batch(tmp_path, "small.csv")
    assert done.wait(timeout=120) == 0, done.communicate()[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "plans", "small.csv"]
    assert ".lock" not in {p.name for p in (tmp_path / "plans").iterdir()}


def test_a_running_batch_s_fresh_folder_is_left_alone(tmp_path: Path) -> None:
    """Two batches into one folder at once: the second does not take the first's fresh
    folder for a killed one."""
    _roster(tmp_path / "big.csv", 400)
    first = _batch(tmp_path, "big.csv")
    _wait_for_fresh_folder(tmp_path, first)
    fresh = list(tmp_path.glob(".plans.*.partial"))
    _roster(tmp_path / "small.csv", 2)
    second = subprocess.run(
        [sys.executable, "-m", "taper", "batch", "small.csv", "--out-dir", "other"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    from taper.batch import clear_stale

    clear_stale(tmp_path, "plans")  # as a batch into the same folder would at its start
    assert all(folder.exists() for folder in fresh) or first.poll() is not None
    assert first.wait(timeout=300) == 0, first.communicate()[1]
    assert not list(tmp_path.glob(".plans.*.partial"))


def test_a_batch_runs_where_the_file_system_has_no_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some network shares refuse file locks (ENOLCK): the batch runs without one, and
    leaves no fresh folder behind."""
    import errno
    import fcntl

    from click.testing import CliRunner

    from taper.cli import cli

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    _roster(tmp_path / "small.csv", 2)
    result = CliRunner().invoke(
        cli, ["batch", str(tmp_path / "small.csv"), "--out-dir", str(tmp_path / "plans")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plans", "small.csv"]
    assert not [p for p in (tmp_path / "plans").iterdir() if p.name.startswith(".")]


def test_a_second_ctrl_c_while_a_batch_stops_is_held_until_it_has_stopped() -> None:
    """A second Ctrl-C with --jobs 2 cut the pool's shutdown short: the batch hung on exit and
    left its fresh folder. While a batch stops, Ctrl-C and SIGTERM wait; then they are as
    they were."""
    import os
    import signal

    from taper.batch import signals_held

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with signals_held():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
