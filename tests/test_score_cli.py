"""`waspada score` and the Scorer API: contract fields, streaming, bad lines, both cores."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pipeline.ad import Ad
from pipeline.cli import cli
from pipeline.datasets import load_labelled
from pipeline.model import train_and_register
from pipeline.paths import SEED_DIR
from pipeline.scoring import Scorer, score_file, uncertainty_pick

ADS = [
    {
        "id": "x1",
        "text": "Loker CS online di Phnom Penh gaji 15jt, tanpa pengalaman, tiket ditanggung potong gaji. WA 0812-3456-7890",
        "source": "fb",
        "custom": {"keep": [1, 2]},
    },
    {
        "id": "x2",
        "text": "PT Sinar Abadi membuka lowongan staf admin di Semarang. Lamaran ke hrd@sinarabadi.co.id",
        "posted_at": "2026-11-01",
    },
    {
        "title": "Dicari ART ke Arab Saudi",
        "description": "Berangkat pakai visa ziarah, proses cepat, tanpa biaya, hubungi sponsor",
    },
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    if not any(SEED_DIR.glob("*.jsonl")):
        pytest.skip("seed corpus (data/seed) not present")
    data = load_labelled(SEED_DIR)
    data = data.subset(range(0, len(data), max(1, len(data) // 120)))
    directory = tmp_path_factory.mktemp("model")
    train_and_register(data, folds=2, repeats=1, model_dir=str(directory))
    return directory


def write(path, rows):
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_score_writes_input_back_with_the_contract_fields(model_dir, tmp_path):
    source = write(tmp_path / "ads.jsonl", ADS)
    out = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(
        cli, ["score", "-i", str(source), "-o", str(out), "--model", str(model_dir), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    rows = read(out)
    assert len(rows) == 3
    for original, row in zip(ADS, rows, strict=True):
        for key, value in original.items():
            assert row[key] == value  # input passed through unchanged
        assert 0 <= row["score"] <= 1 and row["flagged"] == (
            row["score"] >= json.loads((model_dir / "card.json").read_text())["threshold"]
        )
        assert set(row["scores"]) == {"tppo", "nonprocedural", "fee_fraud"}
        assert all(set(flag) == {"id", "family", "severity", "evidence"} for flag in row["flags"])
        assert set(row["explanation"]) == {"terms", "features"}
        assert row["model_version"]
    assert rows[0]["flags"] and rows[0]["score"] > rows[1]["score"]
    assert "scored 3 ads" in result.output


def test_two_processes_give_the_same_output_as_one(model_dir, tmp_path):
    source = write(tmp_path / "ads.jsonl", ADS * 40)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_file(source, one, model=model_dir, jobs=1, chunk_size=7)
    stats = score_file(source, two, model=model_dir, jobs=2, chunk_size=7)
    assert one.read_bytes() == two.read_bytes()
    assert stats.scored == 120


SCORE_AND_LIST_IMPORTS = """
import runpy, sys
sys.argv = ["waspada", *sys.argv[1:]]
try:
    runpy.run_module("pipeline.cli", run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
print(sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "scipy", "pandas", "joblib"}))
"""


def test_scoring_a_flat_model_imports_no_scikit_learn(model_dir, tmp_path):
    """The flat form is what makes `waspada score` start fast: it must not pull scikit-learn
    (or scipy, pandas, joblib) in through some import; without it, it must still work."""
    source = write(tmp_path / "ads.jsonl", ADS)
    command = [sys.executable, "-c", SCORE_AND_LIST_IMPORTS, "score", "-i", str(source)]
    for jobs in ("1", "2"):
        flat = command + ["-o", str(tmp_path / f"flat{jobs}.jsonl"), "--jobs", jobs]
        done = subprocess.run(flat + ["--model", str(model_dir)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == "[]"
    plain_dir = tmp_path / "plain"
    shutil.copytree(model_dir, plain_dir)
    card = json.loads((plain_dir / "card.json").read_text())
    del card["flat"]
    (plain_dir / "card.json").write_text(json.dumps(card))
    plain = command + ["-o", str(tmp_path / "plain.jsonl"), "--model", str(plain_dir)]
    done = subprocess.run(plain + ["--jobs", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "sklearn" in done.stdout.strip().splitlines()[-1]
    assert (tmp_path / "plain.jsonl").read_bytes() == (tmp_path / "flat1.jsonl").read_bytes()
    assert (tmp_path / "flat2.jsonl").read_bytes() == (tmp_path / "flat1.jsonl").read_bytes()


def test_stdin_to_stdout(model_dir, tmp_path):
    text = "".join(json.dumps(r) + "\n" for r in ADS)
    result = CliRunner().invoke(
        cli, ["score", "-i", "-", "-o", "-", "--model", str(model_dir), "--jobs", "1"], input=text
    )
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row.get("id") for row in lines] == ["x1", "x2", None]


def test_bad_line_names_file_and_line_and_leaves_no_output(model_dir, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text(
        json.dumps(ADS[0])
        + "\n{oops\n"
        + json.dumps({"id": "e", "text": ""})
        + "\n"
        + json.dumps(ADS[1])
        + "\n"
    )
    out = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(
        cli, ["score", "-i", str(source), "-o", str(out), "--model", str(model_dir)]
    )
    assert result.exit_code != 0
    assert f"{source}:2: not valid JSON" in result.output and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "scored.jsonl.part").exists()
    skipped = CliRunner().invoke(
        cli, ["score", "-i", str(source), "-o", str(out), "--model", str(model_dir), "--skip-bad"]
    )
    assert skipped.exit_code == 0, skipped.output
    assert [row["id"] for row in read(out)] == ["x1", "x2"]
    assert "2 bad lines skipped" in skipped.output and f"{source}:3" in skipped.output


def test_refused_model_is_one_line(tmp_path, model_dir):
    source = write(tmp_path / "ads.jsonl", ADS)
    result = CliRunner().invoke(
        cli, ["score", "-i", str(source), "--model", str(tmp_path / "nowhere")]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_emscad_csv_is_scored_directly(model_dir, tmp_path):
    header = "job_id,title,location,department,salary_range,company_profile,description,requirements,benefits,telecommuting,has_company_logo,has_questions,employment_type,required_experience,required_education,industry,function,fraudulent"
    rows = [
        '7,Data entry,US,,,,"Work from home, pay a fee first",,,1,0,0,,,,,,1',
        "8,Engineer,GB,,,We build,Design bridges,BSc,,0,1,1,,,,,,0",
    ]
    source = tmp_path / "emscad.csv"
    source.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(
        cli, ["score", "-i", str(source), "-o", str(out), "--model", str(model_dir), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    scored = read(out)
    assert [r["id"] for r in scored] == ["emscad-7", "emscad-8"]
    assert (
        scored[0]["fraudulent"] == "1"
        and "score" in scored[0]
        and "Design bridges" in scored[1]["text"]
    )


def test_scorer_api(model_dir):
    scorer = Scorer.load(model_dir)
    assert scorer.version and 0 < scorer.threshold < 1
    ads = [Ad.from_record(r) for r in ADS]
    results = scorer.score_ads(ads)
    assert [r["ad_id"] for r in results] == [ad.id for ad in ads]
    for r in results:
        assert {
            "ad_id",
            "text_hash",
            "model_version",
            "score",
            "flagged",
            "scores",
            "band",
            "flags",
            "explanation",
            "fields",
        } <= set(r)
        assert all({"id", "family", "severity", "evidence"} <= set(f) for f in r["flags"])
    assert scorer.score_ads([]) == []


def test_uncertainty_pick_takes_unflagged_scores_nearest_the_threshold():
    scored = [
        {"ad_id": "a", "score": 0.9, "flagged": True},
        {"ad_id": "b", "score": 0.45, "flagged": False},
        {"ad_id": "c", "score": 0.05, "flagged": False},
        {"ad_id": "d", "score": 0.3, "flagged": False},
    ]
    picked = uncertainty_pick(scored, 0.5, 2)
    assert [p["ad_id"] for p in picked] == ["b", "d"]
    assert all(p["reason"] == "uncertainty" and p["uncertain"] for p in picked)
    assert uncertainty_pick(scored, 0.5, 0) == []
