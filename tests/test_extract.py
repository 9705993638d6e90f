"""Field extraction with spans, driven by the annotated snippets in tests/data/extraction."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from pipeline.extract import RATES_VERSION, Extraction, extract

DATA = Path(__file__).parent / "data" / "extraction"
SNIPPETS = [json.loads(line) for p in sorted(DATA.glob("*.jsonl")) for line in p.open()]
FIELDS = sorted({g["field"] for s in SNIPPETS for g in s["expected"]})


def test_snippet_set_is_large_and_bilingual():
    assert len(SNIPPETS) >= 200
    assert {s["language"] for s in SNIPPETS} == {"id", "en"}
    for s in SNIPPETS:
        for g in s["expected"]:
            assert s["text"][g["start"] : g["end"]] == g["text"], s["id"]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s["id"] for s in SNIPPETS])
def test_snippet_fields(snippet):
    ex = extract(snippet["text"])
    for field in FIELDS:
        got = sorted((i.value, i.start, i.end) for i in getattr(ex, field))
        want = sorted(
            (g["value"], g["start"], g["end"]) for g in snippet["expected"] if g["field"] == field
        )
        assert got == want, f"{snippet['id']} {field}: {snippet['text']!r}"


def test_quality_targets_hold():
    # the same numbers benchmarks/extract_quality.py prints
    spec = importlib.util.spec_from_file_location(
        "extract_quality", Path(__file__).parents[1] / "benchmarks" / "extract_quality.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.evaluate(SNIPPETS)
    assert res["min_precision"] >= 0.95
    assert res["min_recall"] >= 0.95


def test_items_carry_original_text_and_to_dict():
    text = "Gaji Rp15.000.000,-/bulan di Phnom Penh, WA 0812-3456-7890, email hr.pp@gmail.com"
    ex = extract(text)
    d = ex.to_dict()
    json.dumps(d)
    assert d["rates_version"] == RATES_VERSION
    for name in ("money", "destinations", "phones", "emails"):
        for item in d[name]:
            assert text[item["start"] : item["end"]] == item["text"]


def test_money_normalised_to_idr_per_month():
    ex = extract("Gaji 1.000 USD per bulan")
    m = ex.money[0]
    assert m.attrs["currency"] == "USD" and m.attrs["period"] == "month"
    assert m.attrs["idr_month"] > 10_000_000
    day = extract("Upah Rp150.000/hari").money[0]
    assert day.attrs["period"] == "day" and day.attrs["idr_month"] == 150_000 * 26
    assert ex.salary_idr_month == m.attrs["idr_month"]


def test_money_kinds_salary_vs_fee():
    ex = extract("Gaji 8 juta. Biaya pendaftaran 500 rb.")
    kinds = {m.value: m.attrs["kind"] for m in ex.money}
    assert kinds == {"8000000 IDR": "salary", "500000 IDR": "fee"}


def test_fees_purpose_payer_and_negation():
    ex = extract("Biaya medical 2 juta ditanggung pelamar. Tanpa biaya penempatan.")
    fees = {f.value: f.attrs for f in ex.fees}
    assert fees["medical"]["payer"] == "worker" and fees["medical"]["amount"] == 2_000_000
    assert fees["processing"]["negated"] is True
    ex = extract("Biaya visa ditanggung perusahaan")
    assert ex.fees[0].attrs["payer"] == "employer"


def test_destination_flags_and_warned_places():
    ex = extract("Kerja di Sihanoukville. Waspada penipuan ke Myanmar!")
    assert [d.attrs["country"] for d in ex.destinations] == ["KH"]
    assert ex.destinations[0].attrs["hub"] is True
    assert [w.attrs["country"] for w in ex.warned_places] == ["MM"]


def test_visa_negation_attribute():
    ex = extract("Menggunakan visa kerja, bukan visa turis")
    got = {(v.value, v.attrs["negated"]) for v in ex.visas}
    assert got == {("work", False), ("tourist", True)}


def test_contact_attributes():
    ex = extract("Email a@gmail.com, link bit.ly/x1 dan siskop2mi.bp2mi.go.id, HR +855 12 345 678")
    assert ex.emails[0].attrs["free_mail"] is True
    urls = {u.value: u.attrs for u in ex.urls}
    assert urls["bit.ly/x1"]["shortener"] is True
    assert urls["siskop2mi.bp2mi.go.id"]["official"] is True
    assert ex.phones[0].attrs["region"] == "KH"


def test_bank_account_holder_personal_vs_company():
    personal = extract("Transfer BCA 1234567890 a.n. Budi Santoso").bank_accounts[0]
    company = extract("Transfer BCA 1234567890 a.n. PT Maju Jaya").bank_accounts[0]
    assert personal.attrs["personal"] is True
    assert company.attrs["personal"] is False


def test_language_is_recorded():
    assert extract("Dibutuhkan pekerja untuk perusahaan di Jepang").language == "id"
    assert isinstance(extract(""), Extraction)
