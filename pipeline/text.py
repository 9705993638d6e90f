"""Text normalisation for matching, with an offset map back to the original text.

Scam posts dress words up (``𝐆𝐀𝐉𝐈``, ``ｌｏｋｅｒ``, ``g4ji``, ``0812🔥3456🔥7890``) and write in
shorthand (``gj 15jt/bln``, ``loker LN``). Rules and extractors match on a folded copy; every
character of that copy remembers the span of the original it came from, so evidence always
points into the text the reviewer sees.

Two levels are kept because they serve different matchers:

* ``folded``: NFKC, decorative letters and homoglyphs folded, lower case, emoji and controls
  turned into spaces, l33t digits inside words turned into letters. Contacts (phones, URLs,
  e-mails, handles) are read here, where shorthand expansion cannot corrupt them.
* ``text``: ``folded`` with Indonesian shorthand expanded (``jt`` → ``juta``, ``LN`` → ``luar
  negeri``). Money, places, lexicon rules read here.

Work is bounded: only the first :data:`MAX_ANALYSE_CHARS` characters are analysed, and every
pattern is linear (no nested ambiguous quantifiers).
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate, compress
from typing import NamedTuple

import numpy as np

#: Hostile input guard: analysis reads at most this many characters of an ad.
MAX_ANALYSE_CHARS = 60_000

# --------------------------------------------------------------------------------------------
# HTML to text
# --------------------------------------------------------------------------------------------

# Layout as a browser shows it: paragraph-like blocks end with a blank line; these only end a
# line; source newlines are ordinary white space; two <br> in a row make a blank line.
_PARAGRAPH_TAGS = (
    "p|h[1-6]|blockquote|pre|table|ul|ol|dl|section|article|header|footer|main|aside|hr|figure"
    "|form|address|fieldset|details|summary"
)
_LINE_TAGS = "div|li|tr|dt|dd|nav|figcaption|legend|option|label"
# Private-use markers, removed from the input first: paragraph end, line end, <br>.
_PARA, _LINE, _BR = "\ue000", "\ue001", "\ue002"
_MARKERS_RE = re.compile(f"[{_PARA}{_LINE}{_BR}]")
# bounded \s{0,20}: two adjacent unbounded \s* would backtrack quadratically on "<" + spaces
_PARAGRAPH_TAG_RE = re.compile(
    rf"<\s{{0,20}}/?\s{{0,20}}(?:{_PARAGRAPH_TAGS})\b[^>]{{0,2000}}>", re.I
)
_LINE_TAG_RE = re.compile(rf"<\s{{0,20}}/?\s{{0,20}}(?:{_LINE_TAGS})\b[^>]{{0,2000}}>", re.I)
_BR_TAG_RE = re.compile(r"<\s{0,20}/?\s{0,20}br\b[^>]{0,2000}>", re.I)
_CELL_TAG_RE = re.compile(r"<\s{0,20}(?:td|th)\b[^>]{0,2000}>", re.I)
_TAG_RE = re.compile(r"<[^<>]{0,2000}>")
# A run of markers with only white space between them; starts only at a marker, so it stays
# linear (white space around the run goes when lines are stripped).
_BREAK_RUN_RE = re.compile(f"[{_PARA}{_LINE}{_BR}](?:[ \\t\\f\\v\\u00a0]*[{_PARA}{_LINE}{_BR}])*")
_BLANKS_RE = re.compile(r"\n{3,}")  # lines are stripped first, so blank lines are empty
_WHITE_RE = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_RAW_OPEN_RE = re.compile(r"<\s{0,20}(script|style|noscript|template)\b", re.I)


def _drop_raw_blocks(html_text: str) -> str:
    """Remove script/style bodies with ``find`` (a lazy ``.*?`` regex is quadratic when unclosed)."""
    out: list[str] = []
    pos = 0
    lower = None
    while True:
        m = _RAW_OPEN_RE.search(html_text, pos)
        if m is None:
            out.append(html_text[pos:])
            break
        out.append(html_text[pos : m.start()])
        if lower is None:
            lower = html_text.lower()
        close = lower.find("</" + m.group(1).lower(), m.end())
        if close < 0:
            break  # unclosed raw block: drop the rest, it is not text a reader sees
        gt = lower.find(">", close)
        pos = len(html_text) if gt < 0 else gt + 1
    return "".join(out)


def _drop_comments(html_text: str) -> str:
    """Remove ``<!-- ... -->`` with ``find``; an unclosed comment runs to the end (as browsers do).

    A lazy ``<!--.*?-->`` regex rescans to the end from every ``<!--`` when none is closed.
    """
    out: list[str] = []
    pos = 0
    while True:
        a = html_text.find("<!--", pos)
        if a < 0:
            out.append(html_text[pos:])
            break
        out.append(html_text[pos:a])
        b = html_text.find("-->", a + 4)
        if b < 0:
            break
        out.append(" ")
        pos = b + 3
    return "".join(out)


def html_to_text(html_text: str) -> str:
    """Turn HTML into plain text laid out as a browser shows it, line breaks kept.

    Linear-time and depth-independent (no tree is built), so 10k-deep nesting or 5 MB pages are
    fine. Entities are unescaped once, after tags are gone, so ``&lt;b&gt;`` stays literal text.
    The scrapers use it too, for every HTML fragment they turn into ad text.

    >>> html_to_text("<p>Gaji <b>15jt</b></p><ul><li>Mess</li><li>WA&nbsp;0812</li></ul>")
    'Gaji 15jt\\n\\nMess\\nWA 0812'
    """
    if not html_text:
        return ""
    text = _MARKERS_RE.sub("", html_text)
    if "<" in text:  # markup: its source line breaks are white space, as in a browser
        text = text.replace("\r", " ").replace("\n", " ")
    text = _drop_comments(text) if "<!--" in text else text
    text = _drop_raw_blocks(text)
    text = _PARAGRAPH_TAG_RE.sub(_PARA, text)
    text = _LINE_TAG_RE.sub(_LINE, text)
    text = _BR_TAG_RE.sub(_BR, text)
    text = _CELL_TAG_RE.sub(" ", text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    text = _BREAK_RUN_RE.sub(_break, text)
    text = "\n".join(_WHITE_RE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANKS_RE.sub("\n\n", text).strip()


def _break(match: re.Match[str]) -> str:
    run = match.group()
    return "\n\n" if _PARA in run or run.count(_BR) > 1 else "\n"


# --------------------------------------------------------------------------------------------
# Character folding
# --------------------------------------------------------------------------------------------

# Small capitals and common Cyrillic/Greek homoglyphs; NFKC does not fold these.
_HOMOGLYPHS = {
    **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True)),
    **dict(zip("аеорсхуіјАВЕКМНОРСТХ", "aeopcxyijABEKMHOPCTX", strict=True)),
    **dict(zip("ΑΒΕΗΙΚΜΝΟΡΤΧΥΖο", "ABEHIKMNOPTXYZo", strict=True)),
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2022": " ",
    "\u00b7": " ",
    "\u20ac": "€",
    "\u00a5": "¥",
    "\u00a3": "£",
    "\u0e3f": "฿",
    "\u20b1": "₱",
    "\u20a9": "₩",
}
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf"})  # variation selectors, keycap, ZWJ, ZWSP
_SPACE_CATEGORIES = frozenset({"So", "Sk", "Cs", "Co", "Cn", "Cc", "Zl", "Zp", "Zs"})
_KEEP_SYMBOLS = frozenset("€¥£฿₱₩$")
_ASCII_CONTROLS = {i: " " for i in range(32) if chr(i) not in "\n"}
_ASCII_CONTROLS[127] = " "
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _no_controls(s: str) -> str:
    return s.translate(_ASCII_CONTROLS) if _CONTROL_RE.search(s) else s


_CHAR_CACHE: dict[str, str] = {}
_CHAR_CACHE_MAX = 20_000


def _fold_char(c: str) -> str:
    """Fold one non-ASCII or ASCII control character to zero or more characters (cached)."""
    hit = _CHAR_CACHE.get(c)
    if hit is not None:
        return hit
    # an ASCII character here is a control (see _FOLD_SPLIT_RE): a space, as in _no_controls
    out = " " if c.isascii() else _HOMOGLYPHS.get(c)
    if out is None:
        cat = unicodedata.category(c)
        if cat == "Cs":
            out = " "  # lone surrogate: never let it reach an encoder
        else:
            n = unicodedata.normalize("NFKC", c)
            parts: list[str] = []
            for ch in n:
                if ch.isascii():
                    parts.append(" " if ch in "\x00\r\t\x0b\x0c" else ch)
                    continue
                ch = _HOMOGLYPHS.get(ch, ch)
                cat = unicodedata.category(ch)
                if ch in _KEEP_SYMBOLS or ch.isascii():
                    parts.append(ch)
                elif cat in _DROP_CATEGORIES:
                    continue
                elif cat in _SPACE_CATEGORIES:
                    parts.append("\n" if cat in ("Zl", "Zp") else " ")
                else:
                    low = ch.lower()
                    parts.append(low if len(low) != 1 else ch)
            out = "".join(parts)
    if len(_CHAR_CACHE) < _CHAR_CACHE_MAX:
        _CHAR_CACHE[c] = out
    return out


# "x x*" rather than "x+": a pattern that starts with a plain class lets ``re`` skip ASCII fast
_NON_ASCII_SPLIT_RE = re.compile(r"([^\x00-\x7f][^\x00-\x7f]*)")
# runs of the characters _fold_char folds: non-ASCII and ASCII controls but "\n" (one scan
# finds both, instead of one for controls and one for non-ASCII)
_FOLD_SPLIT_RE = re.compile(r"([^\n\x20-\x7e][^\n\x20-\x7e]*)")
_RUN_CACHE: dict[str, str | None] = {}


def _fold_run(run: str) -> str | None:
    """The folded run if every character folds to exactly one character, else None (cached:
    the same emoji and decorative words recur across ads)."""
    hit = _RUN_CACHE.get(run, "")
    if hit != "":
        return hit
    parts = [_fold_char(c) for c in run]
    out = "".join(parts) if all(len(p) == 1 for p in parts) else None
    if len(_RUN_CACHE) < _CHAR_CACHE_MAX and len(run) <= 64:
        _RUN_CACHE[run] = out
    return out


# l33t digits between letters ("g4ji", "l0ker", "k4mboja"), fixed token by token in _expand
# (same length, so offsets hold). Contacts are read before this, on ``folded``.
_LEET_IN_WORD_RE = re.compile(r"[a-z][013457]+[a-z]")
_LEET_MAP = str.maketrans("013457", "oieast")
_LEET_GATE_RE = re.compile(r"[013457](?=[a-z])")  # one digit: "0"*n must not backtrack
_LEET_KEEP = frozenset({"p3mi", "sip3mi", "siup3mi", "sip2mi", "mp3", "mp4", "b2b", "k3", "g7"})


def _letter_before_digits(text: str, i: int) -> bool:
    """True if the run of digits ending at ``i`` starts right after a letter ("g44ji")."""
    j = i
    while j > 0 and text[j - 1].isdigit() and i - j < 8:
        j -= 1
    return j > 0 and text[j - 1].isalpha()


def _unleet_word(w: str) -> str | None:
    """The de-l33ted word, or None when ``w`` has no digit between two letters."""
    if w in _LEET_KEEP or _LEET_IN_WORD_RE.search(w) is None:
        return None
    # only digits with a letter on both sides change: "15jt" and "p3mi" stay
    chars = list(w)
    for i in range(1, len(w) - 1):
        if w[i] in "013457" and w[i - 1].isalpha():
            j = i
            while j < len(w) and w[j] in "013457":
                j += 1
            if j < len(w) and w[j].isalpha():
                chars[i:j] = w[i:j].translate(_LEET_MAP)
    return "".join(chars)


class OffsetMap:
    """Piecewise map from positions in a derived string to spans of its source string.

    A linear segment copies the source one-to-one; a fixed segment (a folded emoji, an expanded
    shorthand) maps every one of its characters to the whole source span it came from. Storing
    segments instead of one entry per character keeps normalisation cheap.
    """

    __slots__ = ("tpos", "src_start", "src_end", "linear", "shift", "limit")

    def __init__(self) -> None:
        self.tpos: list[int] = []
        self.src_start: list[int] = []
        self.src_end: list[int] = []
        self.linear: list[bool] = []
        #: when the map is one linear segment (most ads): source minus derived position, and
        #: the segment's source end (for the fast path of NormalisedText.fspan); else None
        self.shift: int | None = None
        self.limit = 0

    def add(self, tpos: int, s: int, e: int, linear: bool) -> None:
        self.shift = s - tpos if linear and not self.tpos else None
        self.limit = e
        self.tpos.append(tpos)
        self.src_start.append(s)
        self.src_end.append(e)
        self.linear.append(linear)

    def span(self, start: int, end: int) -> tuple[int, int]:
        tpos = self.tpos
        if not tpos:
            return start, end
        if end <= start:
            end = start + 1
        if len(tpos) == 1:  # most ads: no character folds to zero or several
            limit = self.src_end[0]
            if self.linear[0]:
                shift = self.src_start[0] - tpos[0]
                s, e = start + shift, end + shift
            else:
                s, e = self.src_start[0], limit
            if s > limit:
                s = limit
            if e > limit:
                e = limit
            return s, (e if e > s else s)
        k = bisect_right(tpos, start) - 1
        if k < 0:
            k = 0
        s = self.src_start[k] + (start - tpos[k]) if self.linear[k] else self.src_start[k]
        if s > self.src_end[k]:
            s = self.src_end[k]
        k2 = bisect_right(tpos, end - 1) - 1
        if k2 < 0:
            k2 = 0
        if self.linear[k2]:
            e = self.src_start[k2] + (end - tpos[k2])
            if e > self.src_end[k2]:
                e = self.src_end[k2]
        else:
            e = self.src_end[k2]
        return s, (e if e > s else s)


def _fold(original: str) -> tuple[str, OffsetMap | None]:
    """Fold ``original``; return (folded, map), ``None`` meaning identity."""
    if original.isascii():
        return _no_controls(original).lower(), None
    parts = _FOLD_SPLIT_RE.split(original)  # [plain ASCII, run, plain ASCII, ..., plain ASCII]
    folded_runs = list(map(_fold_run, parts[1::2]))
    omap = OffsetMap()
    if None in folded_runs:
        cased = _fold_irregular(parts, folded_runs, omap)
    else:  # every character folded to exactly one (most ads): one linear segment
        parts[1::2] = folded_runs
        cased = "".join(parts)
        omap.add(0, 0, len(original), True)
    lowered = cased.lower()
    if len(lowered) != len(cased):  # paranoid: per-char folding already pre-lowered such chars
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in cased)
    return lowered, omap


def _fold_irregular(parts: list[str], folded_runs: list[str | None], omap: OffsetMap) -> str:
    """Fold when some character folds to zero or several characters; fill ``omap``.

    Characters that fold one-to-one extend the open linear segment; each of the others closes
    it (a dropped character leaves a gap, an expanded one gets a fixed segment).
    """
    out: list[str] = []
    pos = tpos = 0  # in the source and in the folded text
    seg_pos = seg_tpos = 0  # where the open linear segment starts
    for k, part in enumerate(parts):
        f = part if k % 2 == 0 else folded_runs[k // 2]
        if f is not None:
            out.append(f)
            pos += len(part)
            tpos += len(part)
            continue
        for c in part:
            f = _fold_char(c)
            if len(f) == 1:
                out.append(f)
                pos += 1
                tpos += 1
                continue
            if pos > seg_pos:
                omap.add(seg_tpos, seg_pos, pos, True)
            if f:
                out.append(f)
                omap.add(tpos, pos, pos + 1, False)
                tpos += len(f)
            pos += 1
            seg_pos, seg_tpos = pos, tpos
    if pos > seg_pos:
        omap.add(seg_tpos, seg_pos, pos, True)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Shorthand expansion
# --------------------------------------------------------------------------------------------

#: Indonesian (and chat-English) shorthand, expanded only for matching. "pp" is deliberately
#: absent: it is pulang-pergi or Phnom Penh, and the gazetteer decides from context.
SHORTHAND: dict[str, str] = {
    "gj": "gaji",
    "gji": "gaji",
    "gapok": "gaji pokok",
    "jt": "juta",
    "jta": "juta",
    "jtan": "jutaan",
    "rb": "ribu",
    "rbu": "ribu",
    "ln": "luar negeri",
    "loker": "lowongan kerja",
    "lowker": "lowongan kerja",
    "japri": "jalur pribadi",
    "tele": "telegram",
    "tg": "telegram",
    "adm": "admin",
    "cs": "customer service",
    "wa": "whatsapp",
    "bln": "bulan",
    "bl": "bulan",
    "thn": "tahun",
    "th": "tahun",
    "yg": "yang",
    "tdk": "tidak",
    "gak": "tidak",
    "ga": "tidak",
    "nggak": "tidak",
    "ngga": "tidak",
    "enggak": "tidak",
    "gk": "tidak",
    "tnp": "tanpa",
    "tanpa2": "tanpa",
    "dgn": "dengan",
    "dg": "dengan",
    "utk": "untuk",
    "sdh": "sudah",
    "udh": "sudah",
    "udah": "sudah",
    "blm": "belum",
    "bs": "bisa",
    "bsa": "bisa",
    "bhs": "bahasa",
    "ktr": "kantor",
    "org": "orang",
    "pengalamn": "pengalaman",
    "pglmn": "pengalaman",
    "brgkt": "berangkat",
    "brngkt": "berangkat",
    "rek": "rekening",
    "norek": "nomor rekening",
    "tf": "transfer",
    "trf": "transfer",
    "tkw": "tenaga kerja wanita",
    "tki": "tenaga kerja indonesia",
    "pmi": "pekerja migran indonesia",
    "cpmi": "calon pekerja migran indonesia",
    "prt": "pekerja rumah tangga",
    "abk": "anak buah kapal",
    "dm": "direct message",
    "inbok": "inbox",
    "ib": "inbox",
    "hp": "handphone",
    "krj": "kerja",
    "kerjaan": "pekerjaan",
    "jd": "jadi",
    "lgsg": "langsung",
    "lgs": "langsung",
    "lsg": "langsung",
    "lngsng": "langsung",
    "sy": "saya",
    "aja": "saja",
    "cewe": "cewek",
    "msh": "masih",
    "krn": "karena",
    "bgt": "banget",
    "sm": "sama",
    "kmbj": "kamboja",
    "kmboja": "kamboja",
    "mly": "malaysia",
    "msia": "malaysia",
    "thai": "thailand",
    "korsel": "korea selatan",
    "uea": "uni emirat arab",
    "ksa": "arab saudi",
    "soetta": "soekarno hatta",
    "pls": "please",
    "asap": "as soon as possible",
}

_GLUED_UNITS = {"jt": "juta", "jta": "juta", "rb": "ribu", "rbu": "ribu", "bln": "bulan",
                "thn": "tahun"}  # fmt: skip
_SHORTHAND_KEYS = frozenset(SHORTHAND)
_DIGITS = frozenset("0123456789")
_UNIT_STARTS = ("jt", "rb", "bln", "thn")  # every glued unit starts with one of these


def _has_glued_unit(folded: str) -> bool:
    """Is a unit glued to a number ("15jt", "500rb")? ``str.find`` is much cheaper than a regex."""
    for lit in _UNIT_STARTS:
        pos = folded.find(lit, 1)  # a unit needs a digit before it: not at position 0
        while pos > 0:
            if folded[pos - 1].isdigit():
                return True
            pos = folded.find(lit, pos + 2)
    return False


_GLUED_RE = re.compile(r"(\d{1,12})(jt|jta|rb|rbu|bln|thn)$")
#: shorthand key -> its expanded words
_SHORTHAND_WORDS = {k: v.split(" ") for k, v in SHORTHAND.items()}
#: characters that, next to a shorthand token, mean it is part of a URL, handle or e-mail
_URLISH_BEFORE = frozenset(".@:-_")
_URLISH_AFTER = frozenset("@_")

TOKEN_RE = re.compile(r"[^\W_]+")
_TOKEN_SPLIT_RE = re.compile(r"([^\W_]+)")  # capturing: split() keeps the tokens
# the same tokens on lower-case ASCII (folded text), where a plain range is cheaper
_TOKEN_SPLIT_ASCII_RE = re.compile(r"([0-9a-z]+)")


@dataclass(frozen=True)
class Tokens:
    """Word tokens of a normalised text: parallel lists, for speed in the phrase matcher."""

    words: list[str]
    starts: list[int]
    ends: list[int]


def _tokens_from_parts(parts: list[str]) -> Tokens:
    """Tokens from ``[sep, tok, sep, tok, ..., sep]``: offsets are running sums of the lengths."""
    acc = list(accumulate(map(len, parts)))
    return Tokens(parts[1::2], acc[:-1:2], acc[1::2])


# every byte but [0-9a-z] -> " " (in lower-case ASCII text: the separators)
_ASCII_SEPARATORS = bytes(i if 48 <= i <= 57 or 97 <= i <= 122 else 32 for i in range(256))
#: below this length the fixed cost of the numpy calls in _scan exceeds their savings
_SHORT_TEXT = 64


# in the scanned text (separators " ", tokens [0-9a-z]): an ASCII digit -> "0", a letter -> "a"
_DIGITS_AND_LETTERS = bytes.maketrans(b"123456789bcdefghijklmnopqrstuvwxyz", b"0" * 9 + b"a" * 25)


def _scan(folded: str) -> tuple[Tokens, list[int]]:
    """Tokens of lower-case text (as ``_tokens_from_parts(_TOKEN_SPLIT_RE.split(folded))``
    gives them), and the positions of the ASCII digits followed by a token character that is
    not one (in "15jt", "g4ji", "1٣": where l33t and glued units can be).

    ``re.split`` and the running sums cost about a microsecond per token; here the work is in
    C: numpy finds where "is a token character" flips, ``str.split`` cuts the words.
    """
    # an ASCII stand-in of the same length and token boundaries (folded text has few non-ASCII)
    parts = [folded] if folded.isascii() else _NON_ASCII_SPLIT_RE.split(folded)
    runs = parts[1::2]  # [ASCII, run, ASCII, run, ..., ASCII]
    parts[1::2] = map(_ascii_stand_in, runs)
    # " " padding at both ends: every token has a flip before and after it (bytes.translate,
    # a plain table lookup, costs much less than str.translate)
    padded = f" {''.join(parts)} ".encode("ascii").translate(_ASCII_SEPARATORS)
    spaced = padded.decode("ascii")
    is_token = np.frombuffer(padded, np.uint8) != 32
    flips = (is_token[1:] != is_token[:-1]).nonzero()[0].tolist()
    tokens = Tokens(spaced.split(), flips[0::2], flips[1::2])
    if runs:
        _restore_non_ascii(folded, tokens, parts)
    # bytes.find costs far less than a regex, which stops at every digit (phone numbers!);
    # ``padded`` is one character ahead of ``folded``
    classes = padded.translate(_DIGITS_AND_LETTERS)
    pairs: list[int] = []
    i = classes.find(b"0a")
    while i >= 0:
        pairs.append(i - 1)
        i = classes.find(b"0a", i + 2)
    return tokens, pairs


def _ascii_stand_in(run: str) -> str:
    """A run of non-ASCII characters in ASCII: "a" for a letter or digit (``[^\\W_]``), else " "."""
    return "".join("a" if c.isalnum() else " " for c in run)


def _restore_non_ascii(folded: str, tokens: Tokens, parts: list[str]) -> None:
    """Give the words that hold a stand-in (``parts[1::2]``) their characters from ``folded``."""
    words, starts, ends = tokens.words, tokens.starts, tokens.ends
    offsets = list(accumulate(map(len, parts), initial=0))
    for a, b in zip(offsets[1:-1:2], offsets[2::2], strict=True):  # the span of each run
        k = bisect_right(ends, a)  # the first token ending after the run starts
        while k < len(words) and starts[k] < b:
            words[k] = folded[starts[k] : ends[k]]
            k += 1


def tokenize(text: str) -> Tokens:
    """Word tokens (letters and digits) of ``text`` with their offsets."""
    return _tokens_from_parts(_TOKEN_SPLIT_RE.split(text))


def _expand(folded: str) -> tuple[str, Tokens]:
    """De-l33t and expand shorthand at the token level; return (text, tokens).

    ``text`` is ``folded`` with l33t digits turned into letters (same length, same offsets).
    Tokens carry the expanded words: "15jt" gives ``15`` and ``juta``, "LN" gives ``luar`` and
    ``negeri``; every token keeps the span of the characters it came from, so nothing needs a
    second offset map and the text is never rebuilt.
    """
    if len(folded) >= _SHORT_TEXT:
        tokens, pairs = _scan(folded)
    else:
        splitter = _TOKEN_SPLIT_ASCII_RE if folded.isascii() else _TOKEN_SPLIT_RE
        tokens = _tokens_from_parts(splitter.split(folded))  # [sep, tok, sep, ..., sep]
        pairs = None
    return _expand_tokens(folded, tokens, pairs)


def _expand_tokens(folded: str, tokens: Tokens, pairs: list[int] | None) -> tuple[str, Tokens]:
    """:func:`_expand` once ``folded`` is cut into ``tokens``; ``pairs``: the digit-letter
    pairs of :func:`_scan`, or None to look for l33t and glued units with regex scans."""
    words, starts, ends = tokens.words, tokens.starts, tokens.ends
    text = folded
    # set operations and compress() keep the per-token work in C
    if pairs is None:
        digits = [m.start() for m in _LEET_GATE_RE.finditer(folded)]
    else:  # as _LEET_GATE_RE finds them (a non-ASCII letter is no l33t)
        digits = [i for i in pairs if folded[i] in "013457" and "a" <= folded[i + 1] <= "z"]
    if digits and any(_letter_before_digits(folded, i) for i in digits):
        # only a word with one of these digits can hold l33t
        maybe = {words[bisect_right(starts, i) - 1] for i in digits}
        fixes = {w: u for w in maybe if (u := _unleet_word(w)) is not None}
        if fixes:
            text = _unleet_text(folded, tokens, fixes)
    # the shorthand words and the numbers with a glued unit, in order (no key starts with a
    # digit: the two are disjoint)
    hits = list(compress(range(len(words)), map(_SHORTHAND_KEYS.__contains__, words)))
    if pairs is None:
        numbers = range(len(words)) if _has_glued_unit(folded) else ()
    else:
        # A word that can expand ("15jt", _GLUED_RE from an ASCII digit) holds a pair (l33t
        # changes no first or last character): the words of the pairs are enough.
        numbers = {bisect_right(starts, i) - 1 for i in pairs}
    glued = [k for k in numbers if words[k][0] in _DIGITS and words[k][-1].isalpha()]
    if glued:
        hits = sorted(hits + glued)
    n = len(folded)
    # one-word expansions in place; the others rebuild the lists, piece by piece (linear)
    nw: list[str] = []
    ns: list[int] = []
    ne: list[int] = []
    last = 0  # words[:last] are in the new lists
    for k in hits:
        w = words[k]
        a, b = starts[k], ends[k]
        rep = _SHORTHAND_WORDS.get(w)
        if rep is None:
            m = _GLUED_RE.match(w)
            if m is None:
                continue
            num, unit = m.groups()
            mid = a + len(num)
            rep, rep_starts, rep_ends = [num, _GLUED_UNITS[unit]], [a, mid], [mid, b]
        else:
            before = folded[a - 1] if a else " "
            after = folded[b] if b < n else " "
            nxt = folded[b + 1] if b + 1 < n else " "
            if (
                before in _URLISH_BEFORE
                or after in _URLISH_AFTER
                or (after == "." and nxt.isalnum())
            ):
                continue  # part of a link, handle or e-mail ("wa.me", "t.me/cs_x")
            if len(rep) == 1:
                words[k] = rep[0]
                continue
            rep_starts, rep_ends = [a] * len(rep), [b] * len(rep)
        nw += words[last:k]
        nw += rep
        ns += starts[last:k]
        ns += rep_starts
        ne += ends[last:k]
        ne += rep_ends
        last = k + 1
    if not last:
        return text, tokens
    nw += words[last:]
    ns += starts[last:]
    ne += ends[last:]
    return text, Tokens(nw, ns, ne)


def _unleet_text(folded: str, tokens: Tokens, fixes: dict[str, str]) -> str:
    """``folded`` with the words in ``fixes`` replaced, in ``tokens.words`` too (same lengths:
    the offsets hold)."""
    words, starts = tokens.words, tokens.starts
    pieces: list[str] = []
    pos = 0
    for k in compress(range(len(words)), map(fixes.__contains__, words)):
        fixed = fixes[words[k]]
        pieces += (folded[pos : starts[k]], fixed)
        words[k] = fixed
        pos = tokens.ends[k]
    pieces.append(folded[pos:])
    return "".join(pieces)


@dataclass(frozen=True)
class NormalisedText:
    """An original text, its folded copies, the map back to the original, and the tokens.

    ``folded`` is NFKC-folded, lower-cased, emoji turned into spaces (contacts are read here);
    ``text`` is ``folded`` with l33t digits inside words turned into letters (same length and
    offsets). ``tokens`` hold the words of ``text`` with shorthand expanded, each with its span
    in ``text``. ``span`` maps a span of ``text``/``folded`` back to ``original``.
    """

    original: str
    folded: str
    text: str
    fold_map: OffsetMap | None
    tokens: Tokens

    def fspan(self, start: int, end: int) -> tuple[int, int]:
        """Original span of ``folded[start:end]``, which is also that of ``text[start:end]``."""
        fold_map = self.fold_map
        if fold_map is None:
            n = len(self.folded)
            return min(start, n), min(end, n)
        shift = fold_map.shift
        if shift is not None:  # one linear segment: OffsetMap.span inlined (~30 calls an ad)
            limit = fold_map.limit
            s = start + shift
            e = (end if end > start else start + 1) + shift
            if s > limit:
                s = limit
            if e > limit:
                e = limit
            elif e < limit:
                # inside the segment every character folded to one, and no mark, variation
                # selector or format character does (they fold to none): nothing to extend
                return s, e
        else:
            s, e = fold_map.span(start, end)
        # never cut a character from its combining marks / variation selectors ("0️⃣")
        orig = self.original
        while (
            e < len(orig)
            and not orig[e].isascii()
            and unicodedata.category(orig[e]) in ("Mn", "Me", "Cf")
        ):
            e += 1
        return s, e

    # ``text`` and ``folded`` share offsets; one function saves a call on a hot path
    span = fspan

    @property
    def expanded(self) -> str:
        """The expanded words joined by spaces (for display and debugging)."""
        return " ".join(self.tokens.words)


def normalise(text: str) -> NormalisedText:
    """Fold ``text`` (at most :data:`MAX_ANALYSE_CHARS` of it) and tokenise it with shorthand
    expanded, keeping the map back to the original.

    >>> nt = normalise("𝐆𝐀𝐉𝐈 15jt/bln")
    >>> nt.text, nt.expanded
    ('gaji 15jt/bln', 'gaji 15 juta bulan')
    >>> s, e = nt.span(5, 9); nt.original[s:e]
    '15jt'
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    original = text[:MAX_ANALYSE_CHARS]
    folded, fold_map = _fold(original)
    matchable, tokens = _expand(folded)
    return NormalisedText(text, folded, matchable, fold_map, tokens)


# --------------------------------------------------------------------------------------------
# Phrase matching
# --------------------------------------------------------------------------------------------


class PhraseHit(NamedTuple):
    """One phrase occurrence (a tuple: dozens are made per ad)."""

    key: str
    i: int  # first token index
    j: int  # one past the last token index
    start: int  # span in NormalisedText.text
    end: int


class PhraseMatcher:
    """Token-level multi-phrase matcher (dicts keyed by the first two tokens, like flashtext).

    Phrases are written in expanded lower-case form. In a phrase, ``word*`` matches any token
    starting with ``word`` and ``#`` matches a number token (neither as the first token). One
    pass over the tokens; the cost hardly depends on the number of phrases.
    """

    def __init__(self, phrases: Mapping[str, Iterable[str]]) -> None:
        self._single: dict[str, list[str]] = {}
        self._pair: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {}
        self._wild: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for key, plist in phrases.items():
            for phrase in plist:
                toks = tuple(
                    w
                    for t in phrase.lower().split()
                    for w in ([t] if t == "#" or t.endswith("*") else normalise(t).tokens.words)
                )
                if not toks or toks[0].endswith("*") or toks[0] == "#":
                    raise ValueError(f"phrase {phrase!r}: first token must be a literal word")
                if len(toks) == 1:
                    keys = self._single.setdefault(toks[0], [])
                    if key not in keys:
                        keys.append(key)
                elif toks[1] == "#" or toks[1].endswith("*"):
                    self._wild.setdefault(toks[0], []).append((toks, key))
                else:
                    self._pair.setdefault(toks[0], {}).setdefault(toks[1], []).append((toks, key))
        for d in self._pair.values():
            for cands in d.values():
                cands.sort(key=lambda c: -len(c[0]))
        for cands in self._wild.values():
            cands.sort(key=lambda c: -len(c[0]))
        # one entry per first word: (keys of the one-word phrases, longer phrases by their
        # second word with the wildcard phrases merged in (longest first), wildcard phrases)
        self._entries: dict[str, tuple[list[str], dict[str, list[_Cand]], list[_Cand]]] = {}
        for w in set(self._single) | set(self._pair) | set(self._wild):
            wl = self._wild.get(w, [])
            by_second = {
                x: list(map(_cand, sorted(cands + wl, key=lambda c: -len(c[0])) if wl else cands))
                for x, cands in self._pair.get(w, {}).items()
            }
            self._entries[w] = (self._single.get(w, []), by_second, list(map(_cand, wl)))

    def find(self, tokens: Tokens) -> list[PhraseHit]:
        words = tokens.words
        starts, ends = tokens.starts, tokens.ends
        n = len(words)
        hits: list[PhraseHit] = []
        # the entry of every word, None for most: one C-level pass, then only phrase starts
        entries = list(map(self._entries.get, words))
        # the word after each (no phrase has an empty word: the last word has none after it)
        after = words[1:]
        after.append("")
        for i in compress(range(n), entries):
            singles, by_second, wl = entries[i]
            x = after[i]
            if x in by_second or wl:  # the first two words begin a phrase (or a wildcard one)
                seen: tuple[str, ...] = ()
                for key, k, tail, ptoks in by_second.get(x, wl):
                    if key in seen or i + k > n:
                        continue
                    if tail is not None:  # the first two words already match
                        if tail and words[i + 2 : i + k] != tail:
                            continue
                    elif not _wild_match(ptoks, words, i):
                        continue
                    seen += (key,)
                    hits.append(_new_tuple(PhraseHit, (key, i, i + k, starts[i], ends[i + k - 1])))
                if singles:
                    s, e = starts[i], ends[i]
                    for key in singles:
                        if key not in seen:
                            hits.append(_new_tuple(PhraseHit, (key, i, i + 1, s, e)))
            elif singles:
                s, e = starts[i], ends[i]
                for key in singles:
                    hits.append(_new_tuple(PhraseHit, (key, i, i + 1, s, e)))
        return hits


#: a longer phrase as the matcher tries it: (key, number of words, the words after the second
#: when all are literal, else None, all its words)
_Cand = tuple[str, int, list[str] | None, tuple[str, ...]]
# PhraseHit(...) goes through a Python-level __new__; dozens of hits are made per ad
_new_tuple = tuple.__new__


def _cand(c: tuple[tuple[str, ...], str]) -> _Cand:
    ptoks, key = c
    literal = all(p != "#" and not p.endswith("*") for p in ptoks[1:])
    return key, len(ptoks), list(ptoks[2:]) if literal else None, ptoks


def _wild_match(ptoks: tuple[str, ...], words: list[str], i: int) -> bool:
    """Do ``words[i + 1:]`` start with ``ptoks[1:]`` (``#`` a number, ``word*`` a prefix)?"""
    for off in range(1, len(ptoks)):
        p = ptoks[off]
        x = words[i + off]
        if p == x:
            continue
        if p == "#":
            if x.isdigit():
                continue
        elif p[-1] == "*" and x.startswith(p[:-1]):
            continue
        return False
    return True


# --------------------------------------------------------------------------------------------
# Language detection
# --------------------------------------------------------------------------------------------

# A stop-word scorer rather than a statistical detector: ads are short, mix both languages in
# one sentence, and are full of shorthand that n-gram models trained on prose misread. Function
# words are what separates Indonesian from English here, and they survive emoji and caps.
_ID_WORDS = frozenset(
    [
        "yang",
        "dan",
        "di",
        "ke",
        "dari",
        "untuk",
        "dengan",
        "tidak",
        "tanpa",
        "ini",
        "itu",
        "ada",
        "bisa",
        "akan",
        "kami",
        "kamu",
        "anda",
        "atau",
        "juga",
        "sudah",
        "saja",
        "lagi",
        "gaji",
        "kerja",
        "bekerja",
        "lowongan",
        "dibutuhkan",
        "dicari",
        "bulan",
        "hari",
        "minat",
        "hubungi",
        "berangkat",
        "biaya",
        "syarat",
        "usia",
        "tahun",
        "pengalaman",
        "langsung",
        "segera",
        "perusahaan",
        "negeri",
        "luar",
        "selama",
        "sebagai",
        "per",
        "nanti",
        "sana",
        "sini",
        "tiket",
        "makan",
        "mess",
        "gratis",
        "ditanggung",
        "pria",
        "wanita",
        "boleh",
        "wajib",
        "harus",
        "belum",
        "masih",
        "jika",
        "kalau",
        "karena",
        "oleh",
        "pada",
        "dalam",
        "bagi",
        "tempat",
        "tinggal",
        "lokasi",
        "info",
        "daftar",
        "segera",
        "banyak",
        "cepat",
        "proses",
        "resmi",
        "penempatan",
        "kontrak",
        "setelah",
        "sebelum",
        "orang",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "and",
        "to",
        "of",
        "for",
        "with",
        "you",
        "your",
        "we",
        "our",
        "is",
        "are",
        "in",
        "on",
        "at",
        "no",
        "not",
        "be",
        "will",
        "this",
        "that",
        "job",
        "jobs",
        "salary",
        "month",
        "monthly",
        "apply",
        "contact",
        "experience",
        "required",
        "hiring",
        "work",
        "working",
        "company",
        "free",
        "flight",
        "visa",
        "accommodation",
        "please",
        "only",
        "per",
        "from",
        "by",
        "as",
        "an",
        "a",
        "it",
        "or",
        "if",
        "all",
        "any",
        "can",
        "must",
        "need",
        "needed",
        "send",
        "now",
        "today",
        "immediately",
        "week",
        "interview",
        "training",
        "office",
        "position",
        "team",
        "benefits",
        "requirements",
        "applicants",
        "who",
        "what",
        "when",
    ]
)


def detect_language(text: str) -> str:
    """Return ``"id"``, ``"en"`` or ``"mixed"`` from stop-word counts.

    ``"mixed"`` also covers "cannot tell" (no function words at all), which is the honest answer
    for a bare phone number or an emoji-only post.
    """
    return _language_of_words(normalise(text).tokens.words) if text else "mixed"


_STOP_WORDS = _ID_WORDS | _EN_WORDS


def _language_of_words(words: list[str]) -> str:
    # distinct stop words: cheap set intersections, and repeated boilerplate cannot dominate
    # (one pass over the words; the few stop words found are then split by language)
    found = _STOP_WORDS.intersection(words)
    n_id = len(found & _ID_WORDS)
    n_en = len(found & _EN_WORDS)
    total = n_id + n_en
    if total == 0:
        return "mixed"
    share = n_id / total
    if share >= 0.75:
        return "id"
    if share <= 0.25:
        return "en"
    return "mixed"
