"""Hostile input: huge, deep, binary-ish or malformed text never crashes and never hangs.

Scraped text is hostile (HELPERS_BRIEF). These tests do not assert speed; each heavy case runs
in a child process with a generous timeout that only a hang (catastrophic backtracking, a
quadratic loop over megabytes) would exceed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from pipeline.extract import extract
from pipeline.redflags import assess
from pipeline.text import MAX_ANALYSE_CHARS, html_to_text, normalise

HANG_GUARD_S = 120  # a guard against hangs, far above normal run times


def run_child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON object on its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00" * 1000,
        "gaji\x00 15jt\x00 WA 0812\x003456\x007890",
        "\ud800\udfff\udc00 Kamboja \ud83d",  # lone and reversed surrogates
        "\ufeff\u200b\u200d\u2060" * 500,
        "\u0301" * 2000 + "kamboja",  # combining marks without a base
        "\U0010ffff\U000e0001" * 100,
        "İ" * 1000 + " Kamboja",  # lower() changes the length of this letter
        "ß" * 500,
        "﷽" * 300,  # one char that NFKC expands to 18
        "<" * 5000 + ">" * 5000,
        "0" * 10000,
        "+" * 5000 + "62" * 5000,
        "@" * 5000 + "a" * 5000,
        "." * 10000 + "com",
        "rp" * 5000,
        "usia " * 3000,
        "PT " * 3000,
        "A " * 5000 + "Sdn Bhd",
        "visa " * 4000,
        "http://" + "a" * 10000,
    ],
)
def test_odd_inputs_do_not_crash(text):
    a = assess(text)
    json.dumps(a.to_dict())  # JSON-able even with surrogates in evidence (ensure_ascii)
    for f in a.flags:
        for ev in f.evidence:
            assert text[ev.start : ev.end] == ev.text
    ex = extract(text)
    for name in ("phones", "money", "destinations", "urls", "emails"):
        for item in getattr(ex, name):
            assert 0 <= item.start <= item.end <= len(text)


def test_non_str_input_is_tolerated():
    assert assess(None).band == "Rendah"  # type: ignore[arg-type]
    assert assess(12345).band == "Rendah"  # type: ignore[arg-type]


def test_analysis_window_keeps_spans_in_range():
    text = "x" * (MAX_ANALYSE_CHARS - 20) + " Kerja di Kamboja, WA 0812-3456-7890 " + "y" * 1000
    a = assess(text)
    for f in a.flags:
        for ev in f.evidence:
            assert ev.end <= MAX_ANALYSE_CHARS
            assert text[ev.start : ev.end] == ev.text


def test_five_megabytes_of_ad_text():
    res = run_child(
        """
        import json
        from pipeline.redflags import assess
        from pipeline.text import html_to_text
        unit = ("LOKER LN gaji 15jt/bln CS online Kamboja WA 0812-3456-7890 wa.me/628123456789 "
                "email a.b@gmail.com bit.ly/x Rp15.000.000,- usia 18-35 PT Maju Jaya 🔥\\n")
        text = unit * (5_000_000 // len(unit))
        a = assess(text)
        h = html_to_text("<p>" + text + "</p>")
        print(json.dumps({"n": len(text), "band": a.band, "html": len(h)}))
        """
    )
    assert res["n"] >= 4_900_000
    assert res["band"] == "Prioritas tinggi"
    assert res["html"] > 4_000_000


def test_hundred_thousand_emoji():
    res = run_child(
        """
        import json
        from pipeline.redflags import assess
        from pipeline.text import normalise
        text = "😀🔥🇰🇭👍🏽" * 25_000
        nt = normalise(text)
        a = assess(text + " gaji 15jt di Kamboja")
        print(json.dumps({"len": len(nt.text), "flags": len(a.flags)}))
        """
    )
    assert res["len"] > 0


def test_nested_html_ten_thousand_deep():
    res = run_child(
        """
        import json
        from pipeline.text import html_to_text
        from pipeline.redflags import assess
        deep = "<div>" * 10_000 + "Gaji 15jt di Kamboja" + "</div>" * 10_000
        also = "<b><i>" * 10_000 + "x"  # never closed
        t = html_to_text(deep)
        u = html_to_text(also)
        a = assess(deep)
        print(json.dumps({"text": t, "u": u, "band": a.band}))
        """
    )
    assert res["text"] == "Gaji 15jt di Kamboja"
    assert res["u"] == "x"


def test_unclosed_script_and_comment_bombs():
    res = run_child(
        """
        import json
        from pipeline.text import html_to_text
        a = html_to_text("<script>" * 50_000)
        b = html_to_text("<!--" * 100_000 + "text")
        c = html_to_text("<p " + "a=b " * 200_000)
        print(json.dumps({"a": a, "b": len(b), "c": len(c)}))
        """
    )
    assert res["a"] == ""


def test_every_compiled_pattern_is_linear_on_adversarial_strings():
    # Run each precompiled pattern of the text modules over strings built to trigger
    # backtracking (long runs of what a pattern consumes, with the ending it needs missing).
    res = run_child(
        """
        import json, re
        from pipeline import text, extract, redflags
        pats = []
        for mod in (text, extract, redflags):
            pats += [v for v in vars(mod).values() if isinstance(v, re.Pattern)]
        n = 60_000
        adversarial = [
            "0" * n, "0 " * (n // 2), "0." * (n // 2), "0-" * (n // 2), "1,000" * (n // 5),
            "a" * n, "a." * (n // 2), "a-" * (n // 2), "a@" * (n // 2), "A " * (n // 2),
            "@a" * (n // 2), "rp" * (n // 2), "usia 1" * (n // 6), "\\n" * n, " " * n,
            "<" * n, "<a" * (n // 2), "jt" * (n // 2), "http://a" * (n // 8), "wa.me/" * (n // 6),
            "< " + " " * n, "a" + "0" * n, "1" * n + "x", "\\n \\n" * (n // 3),
        ]
        for p in pats:
            for s in adversarial:
                for _ in p.finditer(s):
                    pass
                p.search(s)
        print(json.dumps({"patterns": len(pats)}))
        """
    )
    assert res["patterns"] >= 30


def test_normalise_never_changes_the_original():
    text = "𝐆𝐀𝐉𝐈\x00\ud800 15jt"
    nt = normalise(text)
    assert nt.original == text
    out = html_to_text("\x00<p>\ud800</p>")
    assert isinstance(out, str) and "\ud800" in out
