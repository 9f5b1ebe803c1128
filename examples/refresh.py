"""Re-execute the example notebook and store its outputs (tables, findings, charts as images).

Usage: python examples/refresh.py

Runs examples/explore.ipynb in a temporary folder (the files it writes stay there) and
writes the notebook back with its outputs. tests/test_notebook.py re-executes it and checks that the
stored outputs are still what it shows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLE = Path(__file__).with_name("explore.ipynb")


def executed(path: Path = EXAMPLE) -> nbformat.NotebookNode:
    """The notebook at ``path`` run from a clean kernel in a temporary folder."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    with tempfile.TemporaryDirectory(prefix="taper-notebook-") as folder:
        NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": folder}}
        ).execute()
    return notebook


def main() -> None:
    nbformat.write(executed(), EXAMPLE)
    print(f"wrote {EXAMPLE}")


if __name__ == "__main__":
    main()
