"""Every command the README shows runs as pasted after its set-up, in a fresh folder holding
what the set-up leaves there (the clone's files, plan.csv, plan.json and plan.pdf)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TAPER = ".venv/bin/taper"


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def _commands() -> list[list[str]]:
    """The command lines of the README's "Command line" section, as words."""
    section = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None
    return [shlex.split(line, comments=True) for line in block[1].splitlines() if line.strip()]


def test_the_set_up_writes_the_files_the_commands_use() -> None:
    setup = _blocks()[0]
    assert "--csv plan.csv" in setup and "--json plan.json" in setup
    assert all(words[0] == TAPER for words in _commands())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh folder laid out as the clone is after the README's set-up."""
    here = tmp_path_factory.mktemp("clone")
    for name in ("docs", "examples"):
        shutil.copytree(ROOT / name, here / name)
    setup = shlex.split(_blocks()[0].split(f"&& {TAPER} ", 1)[1])
    _run(["plan", *setup[1:]] if setup[0] == "plan" else setup, here)
    return here


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "taper", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, (args, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.parametrize("words", _commands(), ids=lambda w: " ".join(w[1:4]))
def test_each_readme_command_runs_as_pasted(words: list[str], folder: Path) -> None:
    _run(words[1:], folder)
