"""The JSON Lines interchange format and the ad record (contracts in ARCHITECTURE.md)."""

from __future__ import annotations

import io

import pytest

from pipeline.ad import MAX_TEXT_CHARS, Ad, AdFormatError, iter_jsonl, read_ads, write_jsonl


def test_title_and_description_are_joined_when_there_is_no_text():
    ad = Ad.from_record({"title": "Admin gudang", "description": "Penempatan Batam"})
    assert ad.text == "Admin gudang\n\nPenempatan Batam"


def test_unknown_fields_pass_through_and_ids_are_kept():
    record = {"id": "x-1", "text": "CS online", "telecommuting": "1", "nested": {"a": 1}}
    ad = Ad.from_record(record)
    assert ad.id == "x-1"
    assert ad.to_record() == {
        "id": "x-1",
        "text": "CS online",
        "telecommuting": "1",
        "nested": {"a": 1},
    }


def test_ids_are_stable_hashes_of_source_and_url_or_of_the_text():
    a = Ad(text="Gaji 15 jt", source="s", url="http://a/1")
    assert a.id == Ad(text="other text", source="s", url="http://a/1").id
    assert a.id != Ad(text="Gaji 15 jt", source="t", url="http://a/1").id
    # Without a URL the id follows the text, ignoring case and spacing.
    assert Ad(text="Gaji  15 JT").id == Ad(text="gaji 15 jt").id


def test_a_record_without_text_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "ads.jsonl"
    path.write_text('{"text": "ok"}\n\n{"title": ""}\n', encoding="utf-8")
    with pytest.raises(AdFormatError, match=r"ads\.jsonl:3: no 'text'"):
        list(read_ads(path))


def test_invalid_json_is_an_error_naming_the_line():
    with pytest.raises(AdFormatError, match=r"in:2: not valid JSON"):
        list(iter_jsonl(io.StringIO('{"text": "a"}\n{"text": \n'), "in"))


def test_hostile_text_is_made_storable():
    ad = Ad(text="a\x00b\ud800c" + "x" * (MAX_TEXT_CHARS + 10))
    assert "\x00" not in ad.text
    ad.text.encode("utf-8")  # no lone surrogate left
    assert len(ad.text) <= MAX_TEXT_CHARS


def test_write_jsonl_keeps_unicode_readable():
    out = io.StringIO()
    assert write_jsonl([{"text": "𝐆𝐀𝐉𝐈 Rp15.000.000"}], out) == 1
    assert out.getvalue() == '{"text": "𝐆𝐀𝐉𝐈 Rp15.000.000"}\n'
