"""The rules report (LFAnalysis-style) and the ``waspada rules`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline import WaspadaError
from pipeline.cli.rules import rules
from pipeline.redflags import RULES, assess
from pipeline.rules_report import (
    ABSTAIN,
    function_names,
    label_matrix,
    lf_summary,
    read_labelled,
    report,
)

ROWS = [
    {"text": "CS online di Phnom Penh gaji 15jt tanpa pengalaman, WA 0812-3456-7890", "label": 1,
     "category": "tppo"},
    {"text": "Dicari ART ke Riyadh pakai visa ziarah, hub WA 0813-1111-2222", "label": 1,
     "category": "nonprocedural"},
    {"text": "Biaya pendaftaran 300 rb transfer ke BRI 1234567890 a.n. Siti, WA 0812-1111-2222",
     "label": 1, "category": "fee_fraud"},
    {"text": "PT Maju Jaya (P3MI) SIP3MI No. 12/2024: operator pabrik di Taiwan, visa kerja, "
             "tanpa biaya penempatan. Info siskop2mi.bp2mi.go.id", "label": 0, "category": "benign"},
    {"text": "Lowongan kasir minimarket di Bandung, kirim lamaran ke kantor", "label": 0,
     "category": "benign"},
]  # fmt: skip


@pytest.fixture()
def labelled(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    return path


def test_lf_summary_by_hand():
    # three functions, four ads; votes: f0 risky, f1 risky, f2 benign
    L = np.array([[1, ABSTAIN, ABSTAIN], [1, 1, 0], [ABSTAIN, 1, ABSTAIN], [ABSTAIN] * 3])
    y = np.array([1, 0, 1, 0])
    df = lf_summary(L, y, ["f0", "f1", "f2"], np.array([1, 1, 0])).set_index("function")
    assert df.loc["f0", "coverage"] == 0.5
    assert df.loc["f0", "overlap"] == 0.25  # only ad 1 has another function firing
    assert df.loc["f0", "conflict"] == 0.25  # ad 1: f2 votes benign
    assert df.loc["f0", "precision"] == 0.5 and df.loc["f0", "recall"] == 0.5
    assert df.loc["f2", "precision"] == 1.0 and df.loc["f2", "recall"] == 0.5
    assert df.loc["f1", "conflict"] == 0.25


def test_label_matrix_shape_and_votes():
    names, votes = function_names()
    assert len(names) == len(votes)
    L = label_matrix([assess(r["text"]) for r in ROWS])
    assert L.shape == (len(ROWS), len(names))
    mit = [j for j, r in enumerate(RULES) if r.mitigating]
    assert set(np.unique(L[:, mit])) <= {ABSTAIN, 0}


def test_report_on_small_labelled_set(labelled):
    rep = report(read_labelled(labelled))
    assert rep["n_ads"] == 5 and rep["n_positive"] == 3
    by_name = {f["function"]: f for f in rep["functions"]}
    assert by_name["priority_ge_45"]["recall"] == 1.0
    assert by_name["priority_ge_45"]["precision"] == 1.0
    assert by_name["L3_official_portal"]["vote"] == 0
    assert "fired_in:benign" in by_name["A1_scam_hub_destination"]


def test_read_labelled_errors(tmp_path):
    with pytest.raises(WaspadaError, match="no such file"):
        read_labelled(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": 1}\nnot json\n')
    with pytest.raises(WaspadaError, match=":2: not valid JSON"):
        read_labelled(bad)
    nolabel = tmp_path / "nolabel.jsonl"
    nolabel.write_text('{"text": "x"}\n')
    with pytest.raises(WaspadaError, match="'label' must be 0 or 1"):
        read_labelled(nolabel)


def test_cli_report_table_and_json(labelled):
    runner = CliRunner()
    res = runner.invoke(rules, ["report", "--data", str(labelled)])
    assert res.exit_code == 0, res.output
    assert "coverage" in res.output and "A1_scam_hub_destination" in res.output
    res = runner.invoke(rules, ["report", "--data", str(labelled), "--json"])
    assert res.exit_code == 0
    assert json.loads(res.output)["n_ads"] == 5


def test_cli_report_missing_file_is_one_line(tmp_path):
    from pipeline.cli import cli

    res = CliRunner().invoke(cli, ["rules", "report", "--data", str(tmp_path / "nope.jsonl")])
    assert res.exit_code != 0
    assert "no such file" in res.output
    assert "Traceback" not in res.output


def test_cli_list_and_explain():
    runner = CliRunner()
    res = runner.invoke(rules, ["list", "--json"])
    assert len(json.loads(res.output)["rules"]) == len(RULES)
    res = runner.invoke(rules, ["explain", "Kerja di Kamboja pakai visa turis, WA 0812-3456-7890"])
    assert res.exit_code == 0
    assert "E1_tourist_visa_for_work" in res.output
    res = runner.invoke(rules, ["explain", "--json"], input="Dicari ART ke Riyadh")
    assert json.loads(res.output)["band"]


@pytest.mark.parametrize("args", [["--help"], ["report", "--help"], ["list", "--help"],
                                  ["explain", "--help"]])  # fmt: skip
def test_every_command_help_has_an_example(args):
    res = CliRunner().invoke(rules, args)
    assert res.exit_code == 0
    assert "Example:" in res.output
