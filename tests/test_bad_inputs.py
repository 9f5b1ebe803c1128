"""Every bad input gets one clear line naming the field, the right exit code, no traceback
and no file written. The cases are data: tests/corpus/bad_inputs.json."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from taper.cli import cli

CORPUS = json.loads((Path(__file__).parent / "corpus" / "bad_inputs.json").read_text("utf-8"))
SAMPLE = CORPUS[:: max(1, len(CORPUS) // 12)]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 150
    kinds = {case["args"][0] for case in CORPUS}
    assert {"plan", "check", "convert", "drugs", "replan"} <= kinds
    files = [name for case in CORPUS for name in case["files"]]
    assert any(n.endswith(".toml") for n in files) and any(n.endswith(".csv") for n in files)


def _lay_out(folder: Path, files: dict[str, object]) -> None:
    for name, content in files.items():
        if isinstance(content, dict) and "repeat" in content:
            # a large file written out: before, then repeat times times, then after
            text = content.get("before", "") + content["repeat"] * content["times"]  # type: ignore[operator]
            (folder / name).write_text(text + content.get("after", ""), encoding="utf-8")  # type: ignore[operator]
        elif isinstance(content, dict):
            (folder / name).write_bytes(base64.b64decode(str(content["base64"])))
        else:
            (folder / name).write_text(str(content), encoding="utf-8")


def _contents(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones among them) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<folder>"
        for p in sorted(folder.rglob("*"))
    }


def _names_a_field(line: str) -> bool:
    # "Error: --every: got ...", "Error: s.csv: row 2, days: got ...", click's
    # "Error: Invalid value for '--per-day': ..." and "Error: No such option '--speed'."
    return bool(
        re.match(r"Error: (\S[^:]*: |Invalid value for |No such option |only one of |give )", line)
    )


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_bad_input(case: dict[str, object], tmp_path: Path) -> None:
    _lay_out(tmp_path, case["files"])  # type: ignore[arg-type]
    before = _contents(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, case["args"])  # type: ignore[arg-type]
    finally:
        os.chdir(cwd)
    assert result.exit_code == case["exit"], result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output + result.stderr
    assert lines and lines[-1].startswith(str(case["error"])), lines
    assert _names_a_field(lines[-1]), lines[-1]
    # every file that was there is byte for byte as it was, and no file (a temporary one
    # among them) was added
    assert _contents(tmp_path) == before, "a file was written or changed"


@pytest.mark.parametrize("case", SAMPLE, ids=[c["name"] for c in SAMPLE])
def test_bad_input_in_a_real_process(case: dict[str, object], tmp_path: Path) -> None:
    _lay_out(tmp_path, case["files"])  # type: ignore[arg-type]
    result = subprocess.run(
        [sys.executable, "-m", "taper", *case["args"]],  # type: ignore[misc]
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == case["exit"]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(str(case["error"]))
