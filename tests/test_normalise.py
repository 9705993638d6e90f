"""Normalisation: folding, shorthand expansion, offset maps, HTML to text, language."""

from __future__ import annotations

import pytest

from pipeline.text import (
    MAX_ANALYSE_CHARS,
    PhraseMatcher,
    detect_language,
    html_to_text,
    normalise,
    tokenize,
)


def original_of(nt, *words: str) -> str:
    """The original characters behind the first run of expanded ``words`` in the tokens."""
    toks = nt.tokens
    n = len(words)
    for i in range(len(toks.words) - n + 1):
        if tuple(toks.words[i : i + n]) == words:
            s, e = nt.span(toks.starts[i], toks.ends[i + n - 1])
            return nt.original[s:e]
    raise AssertionError(f"{words} not in {toks.words}")


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("𝐆𝐀𝐉𝐈 𝐁𝐄𝐒𝐀𝐑", "gaji besar"),  # mathematical bold
        ("𝗟𝗢𝗞𝗘𝗥 𝗟𝗡", "lowongan kerja luar negeri"),  # sans-serif bold + shorthand
        ("ｌｏｋｅｒ", "lowongan kerja"),  # fullwidth
        ("Ⓚⓐⓜⓑⓞⓙⓐ", "kamboja"),  # circled letters
        ("ᴋᴀᴍʙᴏᴊᴀ", "kamboja"),  # small capitals
        ("Kаmbоjа", "kamboja"),  # Cyrillic а/о homoglyphs
        ("g4ji l0ker k4mboja", "gaji lowongan kerja kamboja"),  # l33t inside words
        ("ga\u200bji", "gaji"),  # zero-width space dropped
    ],
)
def test_folding(raw, expected):
    assert normalise(raw).expanded == expected


def test_leet_does_not_touch_numbers_or_permit_names():
    nt = normalise("gaji 15jt P3MI SIP2MI 0812-3456-7890")
    assert "p3mi" in nt.text and "sip2mi" in nt.text
    assert "15jt" in nt.text and "0812-3456-7890" in nt.folded
    assert "15 juta" in nt.expanded


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("gj 15jt/bln", "gaji 15 juta bulan"),
        ("loker LN", "lowongan kerja luar negeri"),
        ("minat japri", "minat jalur pribadi"),
        ("tdk perlu pglmn", "tidak perlu pengalaman"),
        ("chat tele", "chat telegram"),
        ("cs online", "customer service online"),
        ("500rb", "500 ribu"),
        # a unit that also starts the text: the search for a glued one went on past it
        ("jt murah, gaji 15jt", "juta murah gaji 15 juta"),
        ("rb-an saja " * 8 + "bonus 500rb", "ribu an saja " * 8 + "bonus 500 ribu"),  # 64+ chars
    ],
)
def test_shorthand_expansion(raw, expected):
    assert normalise(raw).expanded == expected


def test_shorthand_left_alone_inside_links_and_handles():
    nt = normalise("wa.me/628123 t.me/cs_loker budi.cs@mail.com")
    assert "whatsapp" not in nt.tokens.words
    assert "customer" not in nt.tokens.words


def test_pp_is_not_expanded():
    assert normalise("tiket PP").expanded == "tiket pp"


def test_offsets_map_back_through_folding_and_expansion():
    raw = "🔥𝐆𝐀𝐉𝐈 15jt/bln, LOKER LN, WA 0812🔥3456🔥7890"
    nt = normalise(raw)
    assert original_of(nt, "gaji") == "𝐆𝐀𝐉𝐈"
    assert original_of(nt, "juta") == "jt"
    assert original_of(nt, "15", "juta") == "15jt"
    assert original_of(nt, "bulan") == "bln"
    assert original_of(nt, "luar", "negeri") == "LN"
    assert original_of(nt, "lowongan", "kerja") == "LOKER"
    i = nt.folded.index("0812")
    s, e = nt.fspan(i, i + len("0812 3456 7890"))
    assert raw[s:e] == "0812🔥3456🔥7890"


def test_offsets_identity_for_plain_ascii():
    nt = normalise("Dibutuhkan operator di Batam")
    i = nt.text.index("batam")
    assert nt.span(i, i + 5) == (i, i + 5)


def test_every_token_maps_inside_the_original():
    raw = "Ｌｏｋｅｒ 𝐊𝐀𝐌𝐁𝐎𝐉𝐀 gj 1️⃣5️⃣jt 😀😀 yg tdk jelas"
    nt = normalise(raw)
    toks = nt.tokens
    for s0, e0 in zip(toks.starts, toks.ends, strict=True):
        s, e = nt.span(s0, e0)
        assert 0 <= s <= e <= len(raw)
        assert raw[s:e].strip()


def test_tokens_match_text_unless_expanded():
    nt = normalise("Gaji 15jt, ada WA 0812")
    t = nt.tokens
    assert t.words == ["gaji", "15", "juta", "ada", "whatsapp", "0812"]
    spans = [nt.text[a:b] for a, b in zip(t.starts, t.ends, strict=True)]
    assert spans == ["gaji", "15", "jt", "ada", "wa", "0812"]
    assert tokenize("a-b c").words == ["a", "b", "c"]


def test_analysis_is_bounded():
    nt = normalise("a" * (MAX_ANALYSE_CHARS + 100))
    assert len(nt.text) == MAX_ANALYSE_CHARS
    assert len(nt.original) == MAX_ANALYSE_CHARS + 100  # the original is kept whole


def test_phrase_matcher_longest_match_and_wildcards():
    m = PhraseMatcher(
        {"a": ["visa turis"], "b": ["visa"], "c": ["kerja # jam"], "d": ["dipotong gaj*"]}
    )
    hits = m.find(normalise("pakai visa turis, kerja 12 jam, dipotong gajinya").tokens)
    keys = [(h.key, h.start, h.end) for h in hits]
    assert ("a", 6, 16) in keys
    assert ("b", 6, 10) in keys  # each key reports its own match at a position
    assert any(k == "c" for k, _, _ in keys)
    assert any(k == "d" for k, _, _ in keys)
    with pytest.raises(ValueError):
        PhraseMatcher({"x": ["# jam"]})


@pytest.mark.parametrize(
    "text,lang",
    [
        ("Dibutuhkan CS online untuk perusahaan di Kamboja, gaji besar tanpa pengalaman", "id"),
        ("We are hiring customer support staff, no experience required, free flight", "en"),
        ("Hiring CS online, gaji 15 juta, free flight dan mess, apply now ke WA kami", "mixed"),
        ("0812 3456 7890 🔥🔥", "mixed"),
        ("", "mixed"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_html_to_text_keeps_lines_and_unescapes_once():
    html = (
        "<html><head><style>p{}</style><script>var x='<p>';</script></head><body>"
        "<h1>LOKER</h1><p>Gaji <b>15jt</b><br>WA&nbsp;0812</p><!-- hidden -->"
        "<ul><li>Mess</li><li>Tiket &amp; visa</li></ul><p>&lt;b&gt; literal</p></body></html>"
    )
    text = html_to_text(html)
    lines = [line for line in text.split("\n") if line]
    assert lines == ["LOKER", "Gaji 15jt", "WA 0812", "Mess", "Tiket & visa", "<b> literal"]


def test_html_to_text_unclosed_script_and_empty():
    assert html_to_text("") == ""
    assert html_to_text("ok<script>never closed") == "ok"


def test_scanned_tokens_equal_the_regex_split_on_any_text():
    """The numpy token scan (texts of 64+ characters) finds exactly the tokens and offsets the
    regex split finds, also with non-ASCII letters, digits and marks among ASCII ones."""
    import random

    from pipeline.text import _TOKEN_SPLIT_RE, _fold, _scan, _tokens_from_parts

    rng = random.Random(20261128)
    pieces = ["gaji", "15jt", " ", "  ", "\n", "-", "_", ".", "/", "café", "é", "٣", "४", "화"]
    pieces += ["→", "€", "\u0301", "\u200b", "ß", "ǅ", "a_b", "ｗａ", "𝐆𝐀𝐉𝐈", "0812", "x"]
    for _ in range(3_000):
        folded, _ = _fold("".join(rng.choices(pieces, k=rng.randint(20, 80))))
        if len(folded) < 64:
            continue
        want = _tokens_from_parts(_TOKEN_SPLIT_RE.split(folded))
        got = _scan(folded)[0]
        assert (got.words, got.starts, got.ends) == (want.words, want.starts, want.ends), folded


def test_scan_pairs_and_the_gates_built_on_them_equal_the_regex_scans():
    """The digit-letter pairs of the token scan are the regex's, and expanding with them (texts
    of 64+ characters) gives what the regex gates for l33t and glued units give."""
    import random
    import re

    from pipeline.text import Tokens, _expand_tokens, _fold, _scan

    pair_re = re.compile(r"[0-9](?=[^\W0-9_])")  # an ASCII digit, then a non-digit token char
    rng = random.Random(20261129)
    pieces = ["gaji", "15jt", "5rb", "3bln", "2thn", "10jta", "1٣jt", "٣jt", "❶jt", "jt", "rb"]
    pieces += ["g4ji", "l0ker", "p3mi", "k4mb0ja", "a15jt", "15jté", "1é", "wa", "ln", "bln"]
    pieces += [" ", "  ", "\n", "-", "_", ".", "/", "wa.me", "@", "café", "ｗａ", "𝐆𝐀𝐉𝐈", "0812"]
    for _ in range(3_000):
        head = rng.choice(["", "", "jt ", "rb", "bln ", "thn"])
        folded, _ = _fold(head + "".join(rng.choices(pieces, k=rng.randint(20, 60))))
        if len(folded) < 64:
            continue
        tokens, pairs = _scan(folded)
        assert pairs == [m.start() for m in pair_re.finditer(folded)], folded
        copy = Tokens(list(tokens.words), list(tokens.starts), list(tokens.ends))
        text, got = _expand_tokens(folded, tokens, pairs)
        want_text, want = _expand_tokens(folded, copy, None)
        assert (text, got.words, got.starts, got.ends) == (
            want_text,
            want.words,
            want.starts,
            want.ends,
        ), folded


def test_no_mark_or_format_character_folds_to_one_character():
    """NormalisedText.fspan relies on it: inside a linear segment of the fold map (characters
    folded one to one) no character is one that ``fspan`` must keep with the one before."""
    import sys
    import unicodedata

    from pipeline.text import _fold, _fold_char

    for c in map(chr, range(sys.maxunicode + 1)):
        if unicodedata.category(c) in ("Mn", "Me", "Cf"):
            assert len(_fold_char(c)) != 1, hex(ord(c))
    nt = normalise("0\ufe0f\u20e3 a\u0301 b")  # keycap, combining acute: spans keep them
    assert nt.original[slice(*nt.span(0, 1))] == "0\ufe0f\u20e3"
    assert nt.original[slice(*nt.span(2, 3))] == "a\u0301"
    assert _fold("x\u200by")[1].shift is None  # a dropped character: two segments
    nt = normalise("ab\u0301")  # one segment, the mark after it
    assert nt.fold_map.shift == 0 and nt.original[slice(*nt.span(1, 2))] == "b\u0301"
