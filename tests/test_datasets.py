"""Loading labelled data: every format, clear errors naming file and line, skipped rows counted."""

from __future__ import annotations

import gzip
import json

import pytest

from pipeline.ad import Ad
from pipeline.datasets import (
    DataError,
    group_key,
    in_holdout,
    load_labelled,
    load_many,
    load_store,
)
from pipeline.paths import EMSCAD_CSV, SEED_DIR
from pipeline.store import Store


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


GOOD = [
    {"id": "a", "text": "Loker Kamboja gaji 15jt tanpa pengalaman", "label": 1},
    {"id": "b", "text": "Lowongan staf gudang di Bekasi, kirim CV", "category": "legit"},
    {
        "id": "c",
        "text": "Kerja ke Malaysia lewat jalur tikus, bayar 5jt",
        "category": "nonprocedural",
    },
    {"id": "d", "text": "Not sure about this one", "category": "unsure"},
]


def test_jsonl_with_label_or_category(tmp_path):
    data = load_labelled(write_jsonl(tmp_path / "l.jsonl", GOOD))
    assert [ad.id for ad in data.ads] == ["a", "b", "c"]
    assert data.y == [1, 0, 1]
    assert data.skipped["unsure"] == 1
    assert data.files[0]["sha256"] and data.files[0]["rows"] == 3


@pytest.mark.parametrize(
    "row, message",
    [
        ({"id": "x", "text": "hello"}, "no 'label' or 'category' field"),
        ({"id": "x", "text": "hello", "label": "maybe"}, "unknown label 'maybe'"),
        ({"id": "x", "text": "   ", "label": 1}, "empty text"),
        ({"id": "a", "text": "again", "label": 0}, "duplicate id 'a' (first at line 1)"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD[0], row])
    with pytest.raises(DataError) as error:
        load_labelled(path)
    assert str(error.value).startswith(f"{path}:2: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_rows_skipped_and_counted(tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps(GOOD[0]), "{not json", json.dumps({"id": "y", "text": "", "label": 0})]
    lines.append(json.dumps({"id": "z", "text": "ok", "label": "wat"}))
    path.write_bytes(
        ("\n".join(lines) + "\n").encode() + b'{"id": "e", "text": "caf\xe9", "label": 0}\n'
    )
    with pytest.raises(DataError, match=r"mixed.jsonl:2: not valid JSON"):
        load_labelled(path)
    data = load_labelled(path, skip_bad=True)
    assert len(data) == 1
    assert data.skipped == {"bad JSON": 1, "empty text": 1, "unknown label": 1, "bad encoding": 1}


def test_bad_encoding_names_the_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        json.dumps(GOOD[0]).encode()
        + b"\n"
        + '{"text": "caf\xe9", "label": 0}\n'.encode("latin-1")
    )
    with pytest.raises(DataError, match=r"latin1.jsonl:2: not valid UTF-8"):
        load_labelled(path)


def test_csv_with_label_column(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text(
        'id,text,is_scam\n1,"Kerja di Dubai, visa ziarah",1\n2,"Admin kantor Jakarta",0\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"ads.csv:1: no label column 'label' .*--label-column"):
        load_labelled(path)
    data = load_labelled(path, label_column="is_scam")
    assert data.y == [1, 0] and [a.id for a in data.ads] == ["1", "2"]


def test_emscad_csv_is_detected_and_keeps_metadata(tmp_path):
    header = "job_id,title,location,department,salary_range,company_profile,description,requirements,benefits,telecommuting,has_company_logo,has_questions,employment_type,required_experience,required_education,industry,function,fraudulent"
    rows = [
        '1,Data entry,US,,,,"Work from home, pay fee #URL_abc#",,,1,0,0,,,,,,1',
        "2,Engineer,GB,,50000-60000,We build bridges,Design bridges,BSc,Pension,0,1,1,,,,,,0",
    ]
    path = tmp_path / "emscad.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode()))
    data = load_labelled(path)
    assert data.files[0]["format"] == "emscad"
    assert data.y == [1, 0]
    ad = data.ads[1]
    assert ad.id == "emscad-2" and "Design bridges" in ad.text and "We build bridges" in ad.text
    assert ad.extra["has_company_logo"] == "1" and ad.salary == "50000-60000"


def test_duplicates_share_a_group_and_the_holdout_is_frozen():
    assert group_key("Kerja  di DUBAI!! gaji 10jt") == group_key("kerja di dubai gaji 12jt")
    assert group_key("kerja di dubai") != group_key("kerja di qatar")
    key = group_key("some ad")
    assert in_holdout(key, 0.3) == in_holdout(key, 0.3)
    assert sum(in_holdout(f"group-{i}", 0.2) for i in range(2000)) in range(300, 500)


def test_store_decisions_latest_per_ad_unsure_left_out(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Store(url) as store:
        store.add_ads(
            [
                Ad(text="Loker Kamboja admin game", id="s1"),
                Ad(text="Guru TK di Bandung", id="s2"),
                Ad(text="hmm", id="s3"),
            ]
        )
        store.decide("s1", "ana", "legit")
        store.decide("s1", "budi", "tppo")  # later decision wins
        store.decide("s2", "ana", "legit")
        store.decide("s3", "ana", "unsure")
    data = load_store(url)
    assert dict(zip([a.id for a in data.ads], data.y, strict=True)) == {"s1": 1, "s2": 0}
    assert data.skipped["unsure"] == 1 and data.origins == ["store", "store"]


def test_later_sources_replace_earlier_ones(tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", GOOD[:2])
    second = write_jsonl(
        tmp_path / "b.jsonl", [{"id": "b", "text": "Lowongan staf gudang", "label": 1}]
    )
    data = load_many([first, second])
    assert dict(zip([a.id for a in data.ads], data.y, strict=True)) == {"a": 1, "b": 1}
    assert data.skipped["replaced by a later source"] == 1


def test_nothing_to_train_on_is_an_error():
    with pytest.raises(DataError, match="no labelled examples"):
        load_many([])


def test_seed_folder_loads():
    if not any(SEED_DIR.glob("*.jsonl")):
        pytest.skip("seed corpus not present")
    data = load_labelled(SEED_DIR)
    assert len(data) > 50 and set(data.y) == {0, 1} and set(data.origins) == {"seed"}


@pytest.mark.emscad
def test_real_emscad_loads():
    if not EMSCAD_CSV.exists():
        pytest.skip(f"EMSCAD not available at {EMSCAD_CSV}")
    data = load_labelled(EMSCAD_CSV)
    assert data.counts() == {"rows": 1417, "positive": 525, "negative": 892}
