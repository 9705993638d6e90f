"""`waspada train` and `waspada evaluate`: model dirs, the registry, the retraining loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pipeline.ad import Ad
from pipeline.cli import cli
from pipeline.datasets import load_labelled
from pipeline.paths import PROJECT_ROOT, SEED_DIR
from pipeline.registry import aliases, history
from pipeline.store import Store

FAST = ["--folds", "2", "--repeats", "1", "--jobs", "1"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """About 120 seed ads as one labelled JSONL file."""
    if not any(SEED_DIR.glob("*.jsonl")):
        pytest.skip("seed corpus (data/seed) not present")
    data = load_labelled(SEED_DIR)
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    step = max(1, len(data) // 120)
    with open(path, "w", encoding="utf-8") as handle:
        for ad, label in list(zip(data.ads, data.y, strict=True))[::step]:
            handle.write(
                json.dumps({"id": ad.id, "text": ad.text, "label": label}, ensure_ascii=False)
                + "\n"
            )
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_train_to_a_model_dir_then_score_and_evaluate_with_it(corpus, tmp_path):
    models = tmp_path / "registry"
    result = invoke(
        "train",
        "--data",
        corpus,
        "--model-dir",
        tmp_path / "m",
        "--models-dir",
        models,
        "--output-format",
        "json",
        "--prevalence",
        "0.0484",
        *FAST,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert report["threshold"]["recall"] >= 0.9 and report["cv"]["repeats"] == 1
    assert "precision_at_prevalence" in report["cv"]["summary"]
    assert (tmp_path / "m" / "model.joblib").exists() and not models.exists()  # registry untouched
    evaluated = invoke(
        "evaluate", "--data", corpus, "--model", tmp_path / "m", "--prevalence", "0.0484"
    )
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout)["evaluation"]
    for key in (
        "precision",
        "recall",
        "f1",
        "pr_auc",
        "roc_auc",
        "brier",
        "confusion",
        "reliability",
        "precision_at_50",
        "f1_at_prevalence",
    ):
        assert key in metrics


def test_readable_table(corpus, tmp_path):
    result = invoke("train", "--data", corpus, "--model-dir", tmp_path / "m", *FAST)
    assert result.exit_code == 0, result.output
    assert "cross-validation: 1×2 grouped stratified folds" in result.output
    assert "confusion matrix" in result.output and "operating threshold" in result.output


def test_retraining_loop_with_store_decisions(corpus, tmp_path):
    models = tmp_path / "models"
    first = invoke("train", "--data", corpus, "--models-dir", models, "--note", "first", *FAST)
    assert first.exit_code == 0, first.output
    assert "promoted: no champion yet" in first.output
    champion = aliases(models)["champion"]

    db = f"sqlite:///{tmp_path / 'w.db'}"
    with Store(db) as store:
        reviewed = [
            Ad(
                text=f"Dicari operator chat ke Kamboja {w}, gaji 12jt, paspor saja, WA 0812{i}",
                id=f"r{i}",
            )
            for i, w in enumerate(
                ["cepat", "segera", "mess gratis", "tanpa syarat", "langsung kerja", "visa turis"]
            )
        ] + [
            Ad(text=f"Lowongan guru {w} di Yogyakarta, kirim lamaran ke sekolah", id=f"g{i}")
            for i, w in enumerate(["matematika", "biologi", "musik"])
        ]
        store.add_ads(reviewed)
        for ad in reviewed:
            store.decide(ad.id, "ana", "tppo" if ad.id.startswith("r") else "legit")
        store.decide("r0", "budi", "unsure")  # latest decision is unsure: left out
    second = invoke(
        "train",
        "--data",
        corpus,
        "--from-store",
        "--db",
        db,
        "--models-dir",
        models,
        "--output-format",
        "json",
        *FAST,
    )
    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout[: second.stdout.rindex("}") + 1])
    assert report["data"]["origins"] == {"file": report["data"]["rows"] - 8, "store": 8}
    assert report["comparison"]["decision"] in ("promoted", "kept as challenger")
    assert "champion" in report["holdout"]  # both models were evaluated on the same holdout
    assert aliases(models)["challenger"] == report["model"]["version"]
    if report["comparison"]["decision"] == "kept as challenger":
        assert aliases(models)["champion"] == champion
    assert [e["alias"] for e in history(models)][:2] == ["challenger", "champion"]


def test_same_data_gives_the_same_artifact_in_fresh_processes(corpus, tmp_path):
    """`make model` must be reproducible bit for bit, whatever the hash seed."""
    hashes = []
    for hash_seed in ("0", "1"):
        out = tmp_path / f"m{hash_seed}"
        command = [
            sys.executable,
            "-m",
            "pipeline.cli",
            "train",
            "--data",
            str(corpus),
            "--model-dir",
            str(out),
            *FAST,
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            cwd=PROJECT_ROOT,
        )
        assert done.returncode == 0, done.stderr
        hashes.append(json.loads((out / "card.json").read_text())["artifact"]["sha256"])
    assert hashes[0] == hashes[1]


def test_one_class_refuses(tmp_path):
    path = tmp_path / "pos.jsonl"
    path.write_text(
        "".join(
            json.dumps({"text": f"Loker Kamboja {w}", "label": 1}) + "\n"
            for w in ["satu", "dua", "tiga", "empat"]
        )
    )
    result = invoke("train", "--data", path, "--models-dir", tmp_path / "models", *FAST)
    assert result.exit_code == 2
    assert (
        "need at least 2 ads of each class" in result.output and "Traceback" not in result.output
    )
    assert not (tmp_path / "models").exists()


def test_bad_label_file_is_one_clear_line(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text("text,target\nhalo,1\n")
    result = invoke("train", "--data", path, "--model-dir", tmp_path / "m")
    assert result.exit_code == 2 and f"{path}:1: no label column 'label'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_help_has_examples():
    for command in (
        ["train"],
        ["evaluate"],
        ["score"],
        ["models"],
        ["models", "list"],
        ["models", "promote"],
    ):
        result = invoke(*command, "--help")
        assert result.exit_code == 0 and "Example:" in result.output
