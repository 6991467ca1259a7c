"""notebooks/quickstart.ipynb runs top to bottom against the embedded default."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


@pytest.mark.timeout(900)
def test_quickstart_runs(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(
        not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"
    )  # committed clean
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "omnidex is running at" in outputs
    assert "ready" in outputs
    assert "stopped" in outputs
    if os.environ.get("OMNIDEX_EXTERNAL_FIXTURES"):
        assert "multimodal_test.pdf" in outputs
