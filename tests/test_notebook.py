"""The evaluation notebook runs top to bottom (on a small subset of the seed corpus)."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline.paths import PROJECT_ROOT, SEED_DIR

NOTEBOOK = PROJECT_ROOT / "notebooks" / "evaluation.ipynb"


def test_evaluation_notebook_runs(monkeypatch):
    if not any(SEED_DIR.glob("*.jsonl")):
        pytest.skip("seed corpus (data/seed) not present")
    monkeypatch.setenv("WASPADA_NB_SMALL", "1")
    monkeypatch.setenv("WASPADA_NB_DATA", "seed")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(PROJECT_ROOT)}},
    )
    client.execute(env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    outputs = "".join(
        out.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "operating threshold" in outputs and "worst false positives" in outputs
    assert "have at least one positive flag" in outputs  # the rule analysis ran
    assert not any(
        out.get("output_type") == "error"
        for cell in notebook.cells
        for out in cell.get("outputs", [])
    )
