"""Structured fields from ad text, each with its span in the original text.

``extract(text)`` normalises once (:mod:`pipeline.text`), then runs one pass per field family:
contacts (phones, WhatsApp, Telegram, e-mail, URLs) on the folded text, money on the expanded
text, places/visas/job types through one token-level phrase matcher, and a few small regexes
(ages, companies, permits, bank accounts). All patterns are compiled at import and linear.

Every item carries ``start``/``end`` into the *original* text and ``text`` (that slice), so a
reviewer sees exactly the words it came from.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter, itemgetter
from typing import Any

import phonenumbers

from pipeline.paths import REFERENCE_DIR
from pipeline.text import (
    NormalisedText,
    PhraseHit,
    PhraseMatcher,
    Tokens,
    _language_of_words,
    normalise,
)

# --------------------------------------------------------------------------------------------
# Reference data (data/reference/), loaded once
# --------------------------------------------------------------------------------------------


def _read_list(name: str) -> frozenset[str]:
    path = REFERENCE_DIR / name
    if not path.exists():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def _read_json(name: str) -> dict[str, Any]:
    path = REFERENCE_DIR / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


GAZETTEER = _read_json("gazetteer.json")
RATES = _read_json("currency_rates.json")
RATES_VERSION: str = RATES.get("version", "unknown")
IDR_PER_UNIT: dict[str, float] = RATES.get("idr_per_unit", {"IDR": 1})
PERIODS_PER_MONTH: dict[str, float] = RATES.get("periods_per_month", {"month": 1})
FREE_MAIL = _read_list("free_mail_domains.txt")
SHORTENERS = _read_list("link_shorteners.txt")
OFFICIAL_DOMAINS = _read_list("official_domains.txt")
OFFICIAL_CONTACTS = _read_list("official_contacts.txt")

COUNTRIES: dict[str, dict[str, Any]] = {c["code"]: c for c in GAZETTEER.get("countries", [])}
#: Countries where online-scam compounds recruit Indonesians (redflags.md §4.1).
SCAM_HUB_COUNTRIES = frozenset(c for c, d in COUNTRIES.items() if d.get("scam_hub") is True)
NON_PLACEMENT = frozenset(c for c, d in COUNTRIES.items() if d.get("non_placement") is True)
ME_MORATORIUM = frozenset(c for c, d in COUNTRIES.items() if d.get("me_moratorium"))
BAIT_COUNTRIES = frozenset(c for c, d in COUNTRIES.items() if d.get("bait"))
PLACEMENT_COUNTRIES = frozenset(c for c, d in COUNTRIES.items() if d.get("placement"))


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class Item:
    """One extracted value with its span in the original text."""

    value: str
    start: int
    end: int
    text: str
    attrs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __init__(
        self, value: str, start: int, end: int, text: str, attrs: dict[str, Any] | None = None
    ) -> None:
        # a few dozen items per ad: plain stores into the instance dict, not the dataclass's
        # five frozen setattrs (nor a keyword call to dict.update, which builds a dict first)
        d = self.__dict__
        d["value"] = value
        d["start"] = start
        d["end"] = end
        d["text"] = text
        d["attrs"] = {} if attrs is None else attrs

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        } | self.attrs


FIELD_NAMES = (
    "phones",
    "whatsapp",
    "telegram",
    "emails",
    "urls",
    "money",
    "fees",
    "destinations",
    "warned_places",
    "transits",
    "visas",
    "ages",
    "job_types",
    "companies",
    "permits",
    "bank_accounts",
    "ewallets",
)


@dataclass
class Extraction:
    """All fields of one ad. Each list holds :class:`Item` objects in text order."""

    language: str = "mixed"
    phones: list[Item] = field(default_factory=list)
    whatsapp: list[Item] = field(default_factory=list)
    telegram: list[Item] = field(default_factory=list)
    emails: list[Item] = field(default_factory=list)
    urls: list[Item] = field(default_factory=list)
    money: list[Item] = field(default_factory=list)
    fees: list[Item] = field(default_factory=list)
    destinations: list[Item] = field(default_factory=list)
    warned_places: list[Item] = field(default_factory=list)
    transits: list[Item] = field(default_factory=list)
    visas: list[Item] = field(default_factory=list)
    ages: list[Item] = field(default_factory=list)
    job_types: list[Item] = field(default_factory=list)
    companies: list[Item] = field(default_factory=list)
    permits: list[Item] = field(default_factory=list)
    bank_accounts: list[Item] = field(default_factory=list)
    ewallets: list[Item] = field(default_factory=list)
    rates_version: str = RATES_VERSION

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"language": self.language, "rates_version": self.rates_version}
        for name in FIELD_NAMES:
            out[name] = [i.to_dict() for i in getattr(self, name)]
        return out

    @property
    def salary_idr_month(self) -> float | None:
        """Highest monthly salary estimate in IDR among salary amounts, if any."""
        vals = [
            m.attrs["idr_month"]
            for m in self.money
            if m.attrs.get("kind") == "salary" and m.attrs.get("idr_month")
        ]
        return max(vals) if vals else None

    def countries(self) -> set[str]:
        return {d.attrs["country"] for d in self.destinations}


def _item(nt: NormalisedText, value: str, a: int, b: int, attrs: dict[str, Any]) -> Item:
    """An item for ``nt.text[a:b]`` (or ``nt.folded[a:b]``: same offsets), spanning the original."""
    s, e = nt.fspan(a, b)
    return Item(value, s, e, nt.original[s:e], attrs)


_START = attrgetter("start")


def _overlaps(a: int, b: int, spans: list[tuple[int, int]]) -> bool:
    """Does ``[a, b)`` overlap one of ``spans``?"""
    for x, y in spans:  # noqa: SIM110 (no generator to set up for the usual zero to two spans)
        if x < b and a < y:
            return True
    return False


def _by_first_char(alternation: str) -> str:
    """``alternation`` ("a|b|...", no groups) regrouped by first character, keeping the order.

    The regex engine tries the alternatives of a branch one by one at every position; grouped,
    it tries only those that can start there. Alternatives with different first characters never
    match at the same position, so the matches are the same.

    >>> _by_first_char("gaji|upah|gj|gapok")
    'g(?:aji|j|apok)|upah'
    """
    groups: dict[str, list[str]] = {}
    for alt in alternation.split("|"):
        groups.setdefault(alt[0], []).append(alt[1:])
    return "|".join(
        head + (rests[0] if len(rests) == 1 else f"(?:{'|'.join(rests)})")
        for head, rests in groups.items()
    )


# --------------------------------------------------------------------------------------------
# Contacts (on the folded text)
# --------------------------------------------------------------------------------------------

# Every pattern starts on a literal or a character class, so the regex engine can skip ahead
# quickly; conditions on the preceding character are checked in Python on the few candidates.
# phones are written +.., 00.., 0.. or 62..: starting on those literals skips most digits
_PHONE_PREFIXES = (r"\+", "0", "62")
# 6 to 16 digits, up to 3 separators before each; the first 6 written out so that the "0" of
# an amount ("15.000") fails on plain character tests before the engine's general repeat
_PHONE_DIGITS = r"[ .\-()]{0,3}\d" * 6 + r"(?:[ .\-()]{0,3}\d){0,10}(?!\d)"
_PHONE_RE = re.compile(f"(?:{'|'.join(_PHONE_PREFIXES)}){_PHONE_DIGITS}")
# the same, one pattern per prefix (see _phone_matches)
_PHONE_PREFIX_RES = tuple(re.compile(prefix + _PHONE_DIGITS) for prefix in _PHONE_PREFIXES)
_DIGIT_GROUP_RE = re.compile(r"\d+")
_DIGIT_RE = re.compile(r"\d")
# "\bwa|whatsapp|whats app|...", all from the "w" (see _by_first_char)
_WA_CONTEXT_RE = re.compile(
    r"w(?:(?<!\w.)a|hatsapp|hats app|hatsap|asap|atsap|\.a|a\.me|ame)\b[^\d\n]{0,18}$"
)
_BANK_CONTEXT_RE = re.compile(
    "(?:"
    + _by_first_char(
        r"rek|rekening|account|acc|bca|bri|bni|mandiri|bsi|cimb|btn|permata|danamon|seabank|"
        r"jago|norek|no\.? rek|virtual"
    )
    + r")\b[^\n]{0,25}$"
)
_WA_LINK_RE = re.compile(
    r"wa\.me/(\+?[\d-]{6,20})?|api\.whatsapp\.com/send/?\?phone=(\+?[\d-]{6,20})"
    r"|wa\.link/[a-z0-9]{2,40}|chat\.whatsapp\.com/[a-z0-9]{6,40}"
)
_TG_LINK_RE = re.compile(r"(?:t|telegram)\.(?:me|dog)/([a-z][a-z0-9_]{3,31})")
_HANDLE_RE = re.compile(r"@([a-z][a-z0-9_]{3,31})")
_TG_CONTEXT_RE = re.compile(r"(?:telegram|tele|\btg|\btelgram)\b[^\n]{0,30}$")
# "telegram", or "tele"/"tg" as words; written from the "t" so the engine can skip to each "t"
_TG_ANYWHERE_RE = re.compile(r"t(?:elegram|(?<!\w.)(?:ele|g)\b)")
_SOCIAL_CONTEXT_RE = re.compile(
    r"(?:\big|instagram|insta|tiktok|tik tok|follow|twitter|\bx\b)\W[^\n]{0,30}$"
)
_EMAIL_DOMAIN_RE = re.compile(r"@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,5}")
_EMAIL_LOCAL_RE = re.compile(r"[a-z0-9._%+-]{1,64}$")
_TLDS = (
    "com|net|org|id|me|ly|io|co|info|biz|xyz|site|online|top|link|gl|to|cc|asia|my|sg|kh|app|"
    "page|gd|tk|ml|ws|click|shop|store|work|jobs|live|ee|at|vip|club|in|us"
)
_SCHEME_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]{2,300}")
_TLD_RE = re.compile(rf"\.(?:{_by_first_char(_TLDS)})(?![a-z0-9-])")  # at every "."
_DOMAIN_TAIL_RE = re.compile(r"(?:\.[a-z0-9-]{1,63}){0,4}(?:/[^\s<>\"'()\[\]{}]{0,300})?")
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
_URL_TRAIL = ".,;:!?)]}'\"*"
_SCHEME_BEFORE_RE = re.compile(r"(?:https?://)?(?:www\.)?$")
_URL_PREFIX_RE = re.compile(r"^(?:https?://)?(?:www\.)?")
_NON_DIGIT_RE = re.compile(r"\D")


# Fast path for Indonesian numbers, from the library's own metadata for region ID: a number is
# valid when its national number matches the general description and one of the number types
# (phonenumbers' _number_type_helper), each a set of lengths plus a pattern.
_ID_META = phonenumbers.PhoneMetadata.metadata_for_region("ID")
_ID_CC = str(_ID_META.country_code)  # "62"
_ID_REGION = phonenumbers.region_code_for_country_code(_ID_META.country_code)  # "ID"
_ID_PREFIX = _ID_META.national_prefix  # "0"
_NSN_MAX = 17  # phonenumbers' _MAX_LENGTH_FOR_NSN: parse() rejects longer national numbers


def _number_desc(desc: phonenumbers.PhoneNumberDesc) -> tuple[frozenset[int], re.Pattern]:
    # no possible lengths listed: any length (phonenumbers' _is_number_matching_desc)
    lengths = desc.possible_length or range(_NSN_MAX + 1)
    return frozenset(lengths), re.compile(desc.national_number_pattern)


_ID_GENERAL = _number_desc(_ID_META.general_desc)
_ID_TYPES = tuple(
    _number_desc(d)
    for d in (
        _ID_META.mobile,  # first: nearly every number in an ad is a mobile one
        _ID_META.fixed_line,
        _ID_META.premium_rate,
        _ID_META.toll_free,
        _ID_META.shared_cost,
        _ID_META.voip,
        _ID_META.personal_number,
        _ID_META.pager,
        _ID_META.uan,
        _ID_META.voicemail,
    )
    if d is not None and d.national_number_pattern
)
#: lengths is_possible_number accepts (including local-only ones)
_ID_POSSIBLE = frozenset(
    _ID_META.general_desc.possible_length + _ID_META.general_desc.possible_length_local_only
)
_UNHANDLED: Any = object()


def _id_valid(nsn: str) -> bool:
    """phonenumbers.is_valid_number for an Indonesian national significant number."""
    n = len(nsn)
    lengths, pattern = _ID_GENERAL
    if n not in lengths or pattern.fullmatch(nsn) is None:
        return False
    for lengths, pattern in _ID_TYPES:  # noqa: SIM110 (no generator for one or two patterns)
        if n in lengths and pattern.fullmatch(nsn):
            return True
    return False


def _parse_id_phone(digits: str) -> tuple[str, str] | None:
    """What :func:`_parse_phone_full` returns for an Indonesian number written "0…", "62…",
    "+62…" or "0062…" whose national number does not start with 0, else ``_UNHANDLED``.

    Such a number parses to country code 62 and the digits after the prefix, so validity,
    possibility and the E.164 form follow from the metadata without building a PhoneNumber.
    """
    # the prefixes _parse_phone_full reads as international: "+", "00", "62" before an "8"
    head = digits[:2]
    if head == "00":
        if not digits.startswith(_ID_CC, 2):
            return _UNHANDLED
        nsn, explicit = digits[2 + len(_ID_CC) :], True
    elif head[:1] == _ID_PREFIX:
        nsn, explicit = digits[len(_ID_PREFIX) :], False
    elif head[:1] == "+":
        if not digits.startswith(_ID_CC, 1):
            return _UNHANDLED
        nsn, explicit = digits[1 + len(_ID_CC) :], True
    elif head == _ID_CC and digits[2:3] == "8" and len(digits) >= 10:
        nsn, explicit = digits[len(_ID_CC) :], True
    else:
        return _UNHANDLED
    if nsn[:1] == "0" or not (nsn.isascii() and nsn.isdecimal()):
        return _UNHANDLED  # other digits or a leading zero: phonenumbers' own rules
    if explicit:
        if len(nsn) > _NSN_MAX or not (_id_valid(nsn) or len(nsn) in _ID_POSSIBLE):
            return None
    elif not (9 <= len(digits) <= 13 and _id_valid(nsn)):
        return None
    return "+" + _ID_CC + nsn, _ID_REGION


def _parse_phone_full(digits: str) -> tuple[str, str] | None:
    """:func:`_parse_phone` through the phonenumbers library: any country, any digits."""
    explicit = digits.startswith("+")
    if digits.startswith("00"):
        digits, explicit = "+" + digits[2:], True
    elif digits.startswith("62") and not explicit and len(digits) >= 10 and digits[2] == "8":
        digits, explicit = "+" + digits, True
    if not explicit and not digits.startswith("0"):
        return None  # bare numbers are prices, ids or account numbers far more often
    if not explicit and not (9 <= len(digits) <= 13):
        return None
    try:
        num = phonenumbers.parse(digits, "ID")
    except phonenumbers.NumberParseException:
        return None
    valid = phonenumbers.is_valid_number(num)
    if not valid and not (explicit and phonenumbers.is_possible_number(num)):
        return None
    region = phonenumbers.region_code_for_number(num) or ""
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), region


@lru_cache(maxsize=4096)
def _parse_phone(digits: str) -> tuple[str, str] | None:
    """(E.164, region) for a candidate written with a leading ``+``/``00`` or a local ``0``."""
    parsed = _parse_id_phone(digits)
    return _parse_phone_full(digits) if parsed is _UNHANDLED else parsed


def _phone_matches(f: str) -> list[re.Match]:
    """The matches of ``_PHONE_RE.finditer(f)``, found faster.

    The regex engine skips to a literal first character far faster than to one of a set ("+",
    "0", "6"), so each prefix has its own pattern. The prefixes start with different characters,
    so the combined pattern's next match is the earliest of theirs; a pattern's next match stays
    valid while it starts after the last match taken, else it is searched again from there.
    """
    found = []
    pending = [r.search(f) for r in _PHONE_PREFIX_RES]
    while True:
        m = None
        for x in pending:
            if x is not None and (m is None or x.start() < m.start()):
                m = x
        if m is None:
            return found
        found.append(m)
        pos = m.end()
        for k, x in enumerate(pending):
            if x is not None and x.start() < pos:
                pending[k] = _PHONE_PREFIX_RES[k].search(f, pos)


def _split_phone(cand: str, offset: int) -> list[tuple[str, str, int, int]]:
    """Parse a candidate digit run (a :data:`_PHONE_RE` match, so ending on a digit); if it is
    two numbers run together, split at a group edge."""
    # nearly always the whole run is one number: try it before splitting it into groups
    digits = _NON_DIGIT_RE.sub("", cand)
    if len(digits) < 7:
        return []  # no run of groups is long enough to be a number
    a = _DIGIT_RE.search(cand).start()
    if a > 0 and cand[a - 1] == "+":
        a -= 1
        digits = "+" + digits
    parsed = _parse_phone(digits)
    if parsed:
        return [(parsed[0], parsed[1], offset + a, offset + len(cand))]
    groups = [m.span() for m in _DIGIT_GROUP_RE.finditer(cand)]
    runs = [cand[x:y] for x, y in groups]
    out: list[tuple[str, str, int, int]] = []
    i = 0
    while i < len(groups):
        found = None
        # longest prefix of groups (from i) that parses
        for j in range(len(groups), i, -1):
            a, b = groups[i][0], groups[j - 1][1]
            digits = "".join(runs[i:j])
            if len(digits) < 7:
                break
            if a > 0 and cand[a - 1] == "+":
                a -= 1
                digits = "+" + digits
            parsed = _parse_phone(digits)
            if parsed:
                found = (parsed[0], parsed[1], offset + a, offset + b, j)
                break
        if found is None:
            i += 1
            continue
        out.append(found[:4])
        i = found[4]
    return out


def _extract_contacts(
    nt: NormalisedText, ex: Extraction
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Phones, WhatsApp, Telegram, e-mail, URLs. Returns the folded spans of all contacts, and
    of those made of words (links, handles, e-mails)."""
    f = nt.folded
    taken: list[tuple[int, int]] = []
    wordy: list[tuple[int, int]] = []  # links, handles, e-mails: their words are not phrases

    def with_scheme(a: int) -> int:
        m = _SCHEME_BEFORE_RE.search(f, max(0, a - 12), a)
        return m.start() if m else a

    # e-mails first: their domains must not become URLs
    if "@" in f:
        for m in _EMAIL_DOMAIN_RE.finditer(f):
            at, b = m.span()
            local = _EMAIL_LOCAL_RE.search(f, max(0, at - 64), at)
            tld = m.group(0).rsplit(".", 1)[-1]
            if local is None or not tld.isalpha() or len(tld) < 2:
                continue
            a = local.start()
            val = f[a:b].strip(".-")
            a = b - len(f[a:b].lstrip(".-"))
            b = a + len(val)
            dom = val.rsplit("@", 1)[1]
            ex.emails.append(_item(nt, val, a, b, {"domain": dom, "free_mail": dom in FREE_MAIL}))
            taken.append((a, b))
            wordy.append((a, b))

    # WhatsApp links
    if "wa.me" in f or "whatsapp.com" in f or "wa.link" in f:
        for m in _WA_LINK_RE.finditer(f):
            a, b = with_scheme(m.start()), m.end()
            if a > 0 and f[a - 1].isalnum():
                continue
            g = 1 if m.group(1) else 2 if m.group(2) else 0
            parsed = _parse_phone("+" + _NON_DIGIT_RE.sub("", m.group(g))) if g else None
            if parsed:
                e164, region = parsed
                ex.whatsapp.append(_item(nt, e164, a, b, {"region": region, "link": True}))
                pa, pb = m.span(g)
                attrs = {
                    "region": region,
                    "whatsapp": True,
                    "official": e164 in OFFICIAL_CONTACTS,
                }
                ex.phones.append(_item(nt, e164, pa, pb, attrs))
            else:
                ex.whatsapp.append(_item(nt, f[a:b], a, b, {"link": True}))
            taken.append((a, b))
            wordy.append((a, b))

    # Telegram links and handles
    if ".me/" in f or ".dog/" in f:
        for m in _TG_LINK_RE.finditer(f):
            a, b = with_scheme(m.start()), m.end()
            if a > 0 and (f[a - 1].isalnum() or f[a - 1] == "."):
                continue
            ex.telegram.append(_item(nt, m.group(1), a, b, {"link": True}))
            taken.append((a, b))
            wordy.append((a, b))
    if "@" in f:
        tg_links = bool(ex.telegram)
        for m in _HANDLE_RE.finditer(f):
            a, b = m.span()
            if a > 0 and (f[a - 1].isalnum() or f[a - 1] in "._@") or _overlaps(a, b, taken):
                continue
            wordy.append((a, b))  # any @handle: "@loker_kamboja" is not a destination
            if _SOCIAL_CONTEXT_RE.search(f, max(0, a - 40), a):
                continue  # "follow IG @x": an Instagram/TikTok account
            handle = m.group(1)
            if (
                _TG_CONTEXT_RE.search(f, max(0, a - 40), a)
                or handle.endswith("bot")
                or tg_links  # a Telegram link or the word anywhere in the ad
                or _TG_ANYWHERE_RE.search(f)
            ):
                ex.telegram.append(_item(nt, handle, a, b, {"link": False}))
                taken.append((a, b))

    # URLs, after e-mail/WA/Telegram so those are not listed twice as generic links
    if "." in f:
        found: list[tuple[int, int]] = []
        if "http" in f or "www." in f:
            found += [m.span() for m in _SCHEME_URL_RE.finditer(f)]
        for m in _TLD_RE.finditer(f):
            if any(x <= m.start() < y for x, y in found):
                continue
            a = m.start()
            while a > 0 and f[a - 1] in _DOMAIN_CHARS:
                a -= 1
            while a < m.start() and f[a] in ".-":
                a += 1
            if a == m.start() or (a > 0 and f[a - 1] in "@/_"):
                continue
            b = _DOMAIN_TAIL_RE.match(f, m.end()).end()
            found.append((a, b))
        for a, b in sorted(found):
            val = f[a:b].rstrip(_URL_TRAIL)
            b = a + len(val)
            if len(val) < 4 or _overlaps(a, b, taken):
                continue
            host = _URL_PREFIX_RE.sub("", val).split("/", 1)[0].split("?", 1)[0]
            if "." not in host:
                continue
            attrs = {
                "domain": host,
                "shortener": host in SHORTENERS,
                "official": _is_official(host),
            }
            ex.urls.append(_item(nt, val, a, b, attrs))
            taken.append((a, b))
            wordy.append((a, b))

    # phone numbers
    for m in _phone_matches(f):
        a, b = m.span()
        if a > 0 and (f[a - 1].isalnum() or f[a - 1] in "+/_"):
            continue
        if _overlaps(a, b, taken):
            continue
        before = f[max(0, a - 40) : a]
        if _BANK_CONTEXT_RE.search(before) and not _WA_CONTEXT_RE.search(before):
            continue
        for e164, region, pa, pb in _split_phone(m.group(0), a):
            if pa > 0 and f[pa - 1] == "(" and ")" in f[pa:pb]:
                pa -= 1  # "(0812) 3456 7890": keep the bracket pair together
            wa = bool(_WA_CONTEXT_RE.search(f, max(0, pa - 30), pa))
            attrs = {"region": region, "whatsapp": wa, "official": e164 in OFFICIAL_CONTACTS}
            ex.phones.append(_item(nt, e164, pa, pb, attrs))
            if wa:
                ex.whatsapp.append(_item(nt, e164, pa, pb, {"region": region, "link": False}))
            taken.append((pa, pb))
    ex.phones.sort(key=_START)
    ex.whatsapp.sort(key=_START)
    ex.urls.sort(key=_START)
    return taken, wordy


def _is_official(host: str) -> bool:
    host = host.lower()
    for d in OFFICIAL_DOMAINS:
        if d.startswith("."):
            if host.endswith(d):
                return True
        elif host == d or host.endswith("." + d):
            return True
    return False


# --------------------------------------------------------------------------------------------
# Money (on the expanded text)
# --------------------------------------------------------------------------------------------

_CUR_PRE = (
    r"rp\.?|idr|us\s?\$|usd|nt\s?\$|ntd|twd|hk\s?\$|hkd|s\$|sgd|rm|myr|\$|¥|jpy|krw|₩|sar|"
    r"aed|qar|kwd|thb|฿|€|eur|£|gbp|rmb|cny|php|₱"
)
# One leading \d (the rest of each alternative after it) gives the pattern a charset prefix: the
# regex engine's search skips to the next digit in C, so finditer is as fast as a digit scan.
# "X+" is written "XX*" and "X?" as "(?:X|)": the same matches, but a number without groups fails
# on a plain character test instead of entering the engine's slower general repeat.
_NUM = (
    r"\d(?:\d{0,2}[.,]\d{3}(?:[.,]\d{3})*(?:,\d{1,2}|)"
    r"|\d{0,2} \d{3}(?: \d{3})*(?![\d.,])"
    r"|\d*(?:[.,]\d+|))"
)
# the text is folded, not expanded: shorthand units ("15jt", "500rb") are matched as written
_UNIT = r"juta|jutaan|jta|jt|ribu|rbu|rb|k|m|mio|million|millions|thousand"
_CUR_POST = (
    r"usd|us dollar|dollars?|dolar|rm|ringgit|sgd|hkd|twd|ntd|nt|yen|won|riyal|rial|real|"
    r"dirham|aed|sar|qar|baht|bath|yuan|rmb|euro|eur|peso|rupiah|idr|krw|jpy|myr|thb"
)
_PERIOD = (
    r"bulan|bln|bl|month|mo|mth|monthly|hari|day|daily|minggu|week|weekly|jam|hour|hr|tahun|thn|"
    r"year|annum|yearly|sebulan|perbulan|per bulan|perbln"
)
# Number first; the currency written before it is checked separately. Word lists grouped by
# first character (see _by_first_char); each optional part is "(?:...|)" (see _NUM).
_MONEY_RE = re.compile(
    rf"(?P<n1>{_NUM})(?:,-|)"
    rf"(?:\s?(?P<u1>{_by_first_char(_UNIT)})\b|)"
    rf"(?:\s?(?:-|~|s\.?d\.?|s/d|sampai|hingga|to)\s?(?:(?:{_by_first_char(_CUR_PRE)})\s?|)"
    rf"(?P<n2>{_NUM})(?:,-|)(?:\s?(?P<u2>{_by_first_char(_UNIT)})\b|)|)"
    rf"(?:\s?(?P<post>{_by_first_char(_CUR_POST)})\b|)"
    rf"(?:\s?(?:/|per|tiap|a|each|se)\s?(?P<period>{_by_first_char(_PERIOD)})\b"
    rf"|\s?(?P<period2>sebulan|perbulan|perbln|monthly|daily|weekly)\b|)",
)
_MATCH_END = re.Match.end
_PRE_RE = re.compile(rf"(?<![a-z])(?:{_by_first_char(_CUR_PRE)})\s?$")
_PRE_LAST_CHARS = frozenset("p.r$dmywb¥€£฿₱₩")
_CURRENCY = {
    "rp": "IDR", "rp.": "IDR", "idr": "IDR", "rupiah": "IDR", "us$": "USD", "usd": "USD",
    "$": "USD", "us dollar": "USD", "dollar": "USD", "dollars": "USD", "dolar": "USD",
    "nt$": "TWD", "ntd": "TWD", "twd": "TWD", "nt": "TWD", "hk$": "HKD", "hkd": "HKD",
    "s$": "SGD", "sgd": "SGD", "rm": "MYR", "myr": "MYR", "ringgit": "MYR", "¥": "JPY",
    "jpy": "JPY", "yen": "JPY", "krw": "KRW", "₩": "KRW", "won": "KRW", "sar": "SAR",
    "riyal": "SAR", "rial": "SAR", "real": "SAR", "aed": "AED", "dirham": "AED", "qar": "QAR",
    "kwd": "KWD", "thb": "THB", "฿": "THB", "baht": "THB", "bath": "THB", "€": "EUR",
    "eur": "EUR", "euro": "EUR", "£": "GBP", "gbp": "GBP", "rmb": "CNY", "cny": "CNY",
    "yuan": "CNY", "php": "PHP", "₱": "PHP", "peso": "PHP",
}  # fmt: skip
_PERIOD_NAMES = {
    "bulan": "month", "month": "month", "mo": "month", "mth": "month", "monthly": "month",
    "sebulan": "month", "perbulan": "month", "per bulan": "month", "perbln": "month",
    "bln": "month", "bl": "month", "thn": "year", "hari": "day", "day": "day",
    "daily": "day", "minggu": "week", "week": "week", "weekly": "week", "jam": "hour",
    "hour": "hour", "hr": "hour", "tahun": "year", "year": "year", "annum": "year",
    "yearly": "year",
}  # fmt: skip
_UNIT_MULT = {
    "juta": 1e6, "jt": 1e6, "jta": 1e6, "jutaan": 1e6, "rbu": 1e3, "m": 1e6, "mio": 1e6, "million": 1e6,
    "millions": 1e6, "ribu": 1e3, "rb": 1e3, "k": 1e3, "thousand": 1e3,
}  # fmt: skip
_SALARY_CUE = re.compile(
    _by_first_char(
        "gaji|gj|gji|gapok|salary|upah|penghasilan|pendapatan|income|pay|paid|earn|wage|take home|"
        "thp|dibayar|komisi|bonus|digaji|bayaran|honor|uang saku|pocket money"
    )
)
_FEE_WORDS = (
    "biaya|fee|bayar|membayar|transfer|uang pendaftaran|uang jaminan|jaminan|deposit|dp|"
    "down payment|ongkos|administrasi|admin|registrasi|pendaftaran|denda|ganti rugi|penalty|"
    "pinalti|cost|charge|modal|aktivasi|activation|top ?up|upgrade|member|membership|"
    "wajib beli|harus beli|beli tiket|wajib bayar|harus bayar|payable"
)
_FEE_CUE = re.compile(_by_first_char(_FEE_WORDS))
# no fee word is longer (as a pattern, "top ?up" counts one more than its longest match)
_FEE_CUE_MAX_LEN = max(map(len, _FEE_WORDS.split("|")))


_FEE_AFTER_RE = re.compile(
    r"[^\n.]{0,12}?(?:transfer ke|dibayarkan|dibayar ke|paid to|payable|ke rek)"
)


_GROUPS_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_GROUPS_DECIMALS_RE = re.compile(r"(\d{1,3}(?:[.,]\d{3})+)(?:,(\d{1,2}))?")


def _parse_number(raw: str, unit: str | None) -> float | None:
    if raw.isdecimal():  # most amounts: no separators to interpret
        return float(raw) * _UNIT_MULT.get(unit, 1) if unit else float(raw)
    s = raw.replace(" ", "")
    if unit:  # "1,5 juta", "2.5jt": separators before a unit are decimal unless a 3-digit group
        if _GROUPS_RE.fullmatch(s) and unit not in ("juta", "jt", "m"):
            s = s.replace(".", "").replace(",", "")
        else:
            s = s.replace(",", ".")
            if s.count(".") > 1:
                s = s.replace(".", "")
    else:
        m = _GROUPS_DECIMALS_RE.fullmatch(s)
        if m:
            whole, decimals = m.groups()
            s = whole.replace(".", "").replace(",", "")
            if decimals:
                s += "." + decimals
        else:
            s = s.replace(",", ".")
    try:
        val = float(s)
    except ValueError:
        return None
    if unit:
        val *= _UNIT_MULT.get(unit, 1)
    return val


def _fmt(n: float) -> str:
    """``15000000`` rather than ``1.5e+07``; two decimals at most."""
    return str(int(n)) if n.is_integer() else f"{n:.2f}".rstrip("0")


def _money_kind(before: str) -> str:
    """The kind named by the last pay or fee word before an amount (a tie, as in "dibayar", which
    holds "bayar", is a fee)."""
    sal = fee = 0
    for sal in map(_MATCH_END, _SALARY_CUE.finditer(before)):  # noqa: B007 (the last is kept)
        pass  # the matches do not overlap: the last one ends last
    if not sal:  # then any fee word makes a fee
        return "fee" if _FEE_CUE.search(before) else "other"
    # a fee word ending at or after the pay word starts at most _FEE_CUE_MAX_LEN before its end:
    # if there is none, the whole scan for fee words can be skipped
    if not _FEE_CUE.search(before, sal - _FEE_CUE_MAX_LEN if sal > _FEE_CUE_MAX_LEN else 0):
        return "salary"
    for fee in map(_MATCH_END, _FEE_CUE.finditer(before)):  # noqa: B007
        pass
    return "salary" if sal > fee else "fee"


_MONEY_SYMBOLS = "$¥€£฿₱₩"
_GLUED_CURRENCIES = ("rp", "rm", "usd", "idr", "sgd")
_HIT_SPAN = attrgetter("start", "end")
_GROUPED_RE = re.compile(r"\d{1,3}(?:[., ]\d{3})+$")
_UNIT_CURRENCY_LESS = frozenset({"juta", "jt", "jta", "ribu", "rb", "rbu", "jutaan"})


def _money_windows(t: str, by_key: dict[str, list[PhraseHit]]) -> list[tuple[int, int]]:
    """Merged text windows around money cues (units, currency words, "rp", symbols)."""
    anchors = [
        *map(_HIT_SPAN, by_key.get("cue:money", ())),
        *map(_HIT_SPAN, by_key.get("cue:salary", ())),
    ]
    for lit in _GLUED_CURRENCIES:  # "rp15.000", "rm1,800": not separate tokens
        pos = t.find(lit)
        while pos >= 0:
            anchors.append((pos, pos + len(lit)))
            pos = t.find(lit, pos + len(lit))
    for sym in "$" if t.isascii() else _MONEY_SYMBOLS:  # the other symbols are not ASCII
        pos = t.find(sym)
        while pos >= 0:
            anchors.append((pos, pos + 1))
            pos = t.find(sym, pos + 1)
    if not anchors:
        return []
    anchors.sort()
    n = len(t)
    out: list[tuple[int, int]] = []
    lo = hi = -1
    for a, b in anchors:
        if hi < 0 or a - 28 > hi:
            if hi >= 0:
                out.append((lo, hi))
            lo = a - 28 if a > 28 else 0
            # a window must not start inside a number, or "15.000.000" would be read as "000.000"
            while lo > 0 and (t[lo - 1].isdigit() or t[lo - 1] in ".,"):
                lo -= 1
        b += 30
        if b > hi:
            hi = b if b < n else n
    out.append((lo, hi))
    return out


def _extract_money(
    nt: NormalisedText,
    ex: Extraction,
    taken: list[tuple[int, int]],
    by_key: dict[str, list[PhraseHit]],
) -> None:
    t = nt.text
    fspan = nt.fspan
    fspans = [fspan(a, b) for a, b in taken]
    matches = []
    last_end = -1
    search = _MONEY_RE.search
    for lo, hi in _money_windows(t, by_key):
        # _MONEY_RE matches at every digit, and its search skips to digits (see _NUM). One
        # search per match costs less than a finditer per window: the same matches, as none is
        # empty (each starts on a digit)
        m = search(t, lo, hi)
        while m is not None:
            end = m.end()
            if m.start() >= last_end:
                matches.append(m)
                last_end = end
            m = search(t, end, hi)
    for m in matches:
        n1raw, u1, n2raw, u2, post, period_raw, period2 = m.groups()
        a = m.start()
        prev = t[a - 1] if a else " "
        if prev.isdigit():
            continue
        # the last character of a currency written before the number ("rp ", "us$")
        cur_before = prev in _PRE_LAST_CHARS or (
            prev == " " and a > 1 and t[a - 2] in _PRE_LAST_CHARS
        )
        if not (u1 or u2 or post or cur_before) and not _GROUPED_RE.match(n1raw):
            continue  # a bare number: most numbers in an ad are not money
        pre = None
        if cur_before:
            pm = _PRE_RE.search(t, max(0, a - 6), a)
            if pm:
                pre = pm.group(0).strip()
                a = pm.start()
        if pre is None and prev.isalpha():
            continue  # "sip2mi", "mp3": digits inside a word
        if u1 is None and u2 is not None:
            u1 = u2
        period_raw = period_raw or period2
        if not (pre or post or u1 in _UNIT_CURRENCY_LESS):
            # "gaji 15.000.000" / "15 000 000 per bulan": a grouped rupiah amount after a pay
            # or fee word, or before a period
            if (
                u1 in ("k", "m")
                or not _GROUPED_RE.match(n1raw)
                or len(n1raw.replace(".", "").replace(",", "").replace(" ", "")) < 5
            ):
                continue
            near = t[max(0, a - 30) : a]
            if not (period_raw or _SALARY_CUE.search(near) or _FEE_CUE.search(near)):
                continue
        b = m.end()
        s, e = fspan(a, b)
        if _overlaps(s, e, fspans):
            continue  # part of a phone number or link
        cur_raw = (pre or post or "").replace(" ", "")
        currency = _CURRENCY.get(cur_raw, _CURRENCY.get(pre or "", "IDR") if cur_raw else "IDR")
        n1 = _parse_number(n1raw, u1)
        if n1 is None:
            continue
        n2 = _parse_number(n2raw, u2 or u1) if n2raw else None
        if n2 is not None and n2 < n1:
            n2 = None
        period = _PERIOD_NAMES.get(period_raw or "", "unknown")
        if period != "unknown":
            kind = "salary"
        else:
            # the words before the amount, from the sentence break if any
            w = a - 45 if a > 45 else 0
            w = max(w, t.rfind("\n", w, a), t.rfind(". ", w, a))
            kind = _money_kind(t[w:a])
            if kind == "other":
                if _SALARY_CUE.search(t, b, b + 12):
                    kind = "salary"
                elif _FEE_AFTER_RE.match(t, b):
                    kind = "fee"
        rate = IDR_PER_UNIT.get(currency)
        idr = (n2 if n2 is not None else n1) * rate if rate else None
        idr_month = (
            round(idr * PERIODS_PER_MONTH.get(period, 1))
            if idr is not None and kind == "salary"
            else None
        )
        value = f"{_fmt(n1)}-{_fmt(n2)} {currency}" if n2 is not None else f"{_fmt(n1)} {currency}"
        ex.money.append(
            Item(
                value,
                s,
                e,
                nt.original[s:e],
                {
                    "amount_min": n1,
                    "amount_max": n2 if n2 is not None else n1,
                    "currency": currency,
                    "period": period,
                    "kind": kind,
                    "idr": round(idr) if idr is not None else None,
                    "idr_month": idr_month,
                },
            )
        )


# --------------------------------------------------------------------------------------------
# Lexicon fields: places, visas, job types, fee purposes (one phrase-matcher pass)
# --------------------------------------------------------------------------------------------

_PLACE_KEYS: dict[str, tuple[str, str, dict[str, Any]]] = {}
_PHRASES: dict[str, list[str]] = {}


def _add_place(kind: str, name: str, country: str, names: list[str], attrs: dict[str, Any]):
    key = f"{kind}:{name}"
    _PLACE_KEYS[key] = (kind, name, {"country": country, **attrs})
    _PHRASES.setdefault(key, []).extend(names)


for _c in GAZETTEER.get("countries", []):
    _add_place("country", _c["name"], _c["code"], _c["names"], {})
for _c in GAZETTEER.get("cities", []):
    _add_place(
        "city",
        _c["name"],
        _c["country"],
        _c["names"],
        {"hub": bool(_c.get("hub")), "border": bool(_c.get("border"))},
    )
for _c in GAZETTEER.get("transit", []):
    _add_place(
        "transit", _c["name"], _c["country"], _c["names"], {"informal": bool(_c.get("informal"))}
    )

VISA_PHRASES: dict[str, list[str]] = {
    "visa:tourist": [
        "visa turis", "visa wisata", "visa turist", "visa pelancong", "tourist visa",
        "visa tourist", "visa liburan", "as tourist", "as a tourist",
        "sebagai turis", "sebagai wisatawan", "tourist entry", "come as tourist",
    ],
    "visa:visit": [
        "visa kunjungan", "visa kunjung", "visit visa", "visitor visa", "visa visit",
        "visa kunjungan bisnis", "visit permit", "visitor entry",
        "standard visitor entry", "visitor permit", "pas lawatan", "social visit pass",
        "visit pass",
    ],
    "visa:ziarah": ["visa ziarah", "visa ziaroh", "ziarah visa", "rombongan ziarah"],
    "visa:umrah": ["visa umrah", "visa umroh", "umrah visa", "umroh visa", "rombongan umroh",
                   "rombongan umrah", "jamaah umroh", "jamaah umrah"],
    "visa:voa": ["visa on arrival", "voa", "visa saat kedatangan"],
    "visa:visa_free": [
        "bebas visa", "visa free", "visa-free", "tanpa visa", "free visa entry", "no visa needed",
        "no visa required", "tidak perlu visa",
    ],
    "visa:work": [
        "visa kerja", "working visa", "work visa", "work permit", "visa pekerja", "izin kerja",
        "permit kerja", "temporary employment visit pass", "employment visit pass", "plks",
        "calling visa", "employment visa", "visa kerja resmi", "work and holiday visa",
        "working holiday visa",
    ],
    "visa:student": ["visa pelajar", "student visa", "visa belajar", "visa mahasiswa"],
}  # fmt: skip

JOB_PHRASES: dict[str, list[str]] = {
    "job:scam_role": [
        "customer service online", "customer service", "customer support", "admin game",
        "admin online", "admin judi", "admin slot", "operator game", "operator online",
        "operator chat", "live chat", "chat operator", "telemarketing", "telemarketer",
        "data entry", "input data", "typing job", "typist online", "admin crypto",
        "crypto customer", "admin forex", "marketing online", "digital marketing",
        "marketing digital", "admin online shop", "admin toko online", "admin web",
        "admin website", "admin sosmed", "admin media sosial", "staf it", "staff it",
        "it support", "game admin", "online customer service", "call center",
        "customer service bahasa", "cs online", "operator komputer", "admin",
        "tenaga pemasaran", "online sales", "sales online", "chat agent", "scammer", "chat support",
        "customer experience", "admin chat", "indonesian chat", "layanan pelanggan",
        "pemasaran digital",
    ],
    "job:domestic": [
        "asisten rumah tangga", "pekerja rumah tangga", "art", "prt", "pembantu rumah tangga",
        "pembantu", "housemaid", "house maid", "domestic helper", "domestic worker",
        "maid", "penata laksana rumah tangga", "tenaga kerja wanita", "sopir keluarga",
        "supir keluarga", "family driver", "tukang kebun", "gardener", "juru masak keluarga",
        "kebersihan rumah", "tenaga kebersihan rumah", "pembersih rumah", "house cleaner",
        "housekeeper", "cleaning rumah", "khadimat", "pendamping keluarga",
    ],
    "job:care": [
        "caregiver", "care giver", "perawat lansia", "pengasuh", "baby sitter", "babysitter",
        "nanny", "pengasuh anak", "pengasuh bayi", "perawat jompo", "elderly carer",
        "kaigo", "care worker", "jaga orang tua", "jaga lansia", "merawat lansia",
        "menjaga lansia", "perawat orang tua",
    ],
    "job:fishing_crew": [
        "anak buah kapal", "kapal ikan", "fishing crew", "fishing vessel", "awak kapal",
        "kapal penangkap ikan", "long line", "longline", "deck hand", "deckhand",
    ],
    "job:factory": [
        "pabrik", "operator produksi", "factory worker", "factory", "buruh pabrik",
        "operator mesin", "manufacturing", "packing",
    ],
    "job:construction": ["konstruksi", "construction", "tukang bangunan", "welder", "las"],
    "job:hospitality": [
        "hotel", "restoran", "restaurant", "waiter", "waitress", "pelayan restoran", "koki",
        "chef", "cook", "kitchen", "dapur", "housekeeping", "barista", "cleaning service",
    ],
    "job:entertainment": [
        "lc karaoke", "pemandu karaoke", "pemandu lagu", "ladies companion", "hostess",
        "terapis spa", "spa therapist", "terapis pijat", "massage therapist", "penari",
        "dancer", "entertainer", "purel", "lady escort", "escort", "grup hiburan",
        "melayani tamu vip", "tamu vip", "vip guests", "vip lounge",
    ],
    "job:healthcare": ["perawat", "nurse", "nursing", "bidan", "tenaga kesehatan"],
    "job:agriculture": [
        "perkebunan", "kebun sawit", "sawit", "plantation", "petani", "farm worker",
        "pertanian", "ladang",
    ],
    "job:driver": ["sopir", "supir", "driver", "pengemudi"],
    "job:internship": [
        "magang", "internship", "intern", "ferienjob", "work and study",
        "kampus merdeka",
    ],
}  # fmt: skip

_PHRASES.update(VISA_PHRASES)
_PHRASES.update(JOB_PHRASES)

_LANGUAGE_WORDS = frozenset(
    ["bahasa", "berbahasa", "language", "speaking", "speak", "speaker", "fasih"]
)
_NOT_ROLE = frozenset(
    ["biaya", "uang", "fee", "dp", "via", "hubungi", "chat", "kontak", "contact", "ke", "the",
     "our", "japri", "whatsapp", "telegram"]
)  # fmt: skip
# "PP" is Phnom Penh only in a Cambodian context and not next to ticket words (pulang-pergi)
_PP_TICKET_WORDS = frozenset(
    {"tiket", "ticket", "pesawat", "flight", "ongkos", "transport", "gratis", "free", "biaya",
     "ditanggung", "pulang", "pergi", "tiketnya"}
)  # fmt: skip
_PP_PLACE_WORDS = frozenset({"di", "ke", "lokasi", "kota", "area", "in", "to", "at", "location"})

# Negation: a place in "jangan ke Kamboja" or a fee in "tanpa biaya" is not an offer
_NEGATORS = frozenset(
    [
        "tidak",
        "tanpa",
        "bukan",
        "bebas",
        "jangan",
        "tak",
        "belum",
        "no",
        "not",
        "non",
        "never",
        "without",
        "none",
        "zero",
        "nol",
    ]
)
_BREAK_CHARS = frozenset(".,;:!?\n()")
_BREAK_RE = re.compile(r"[.,;:!?\n()]")


def negated(t: str, tokens: Tokens, i: int, window: int = 3) -> bool:
    """True if one of the ``window`` tokens before token ``i`` (same clause) is a negator.

    A negated list also counts: "Yang TIDAK ada di tempat kami: biaya jaminan, uang pelicin".
    """
    if i <= 0 or window <= 0:
        return False
    words, starts, ends = tokens.words, tokens.starts, tokens.ends
    lo = i - window if i > window else 0
    if _NEGATORS.isdisjoint(words[lo:i]):
        # no negator in reach: only a clause break before token ``i`` can lead to a negated list
        # (tokens are letters and digits: a break between them is in the text between them)
        if _BREAK_RE.search(t, ends[lo], starts[i]) is None:
            return False
        return _list_negated(t, tokens, i)
    for k in range(i - 1, lo - 1, -1):
        if not _BREAK_CHARS.isdisjoint(t[ends[k] : starts[k + 1]]):
            break
        if words[k] in _NEGATORS:
            return True
    return _list_negated(t, tokens, i)


def _list_negated(t: str, tokens: Tokens, i: int) -> bool:
    start = tokens.starts[i] if i < len(tokens.starts) else len(t)
    line_start = t.rfind("\n", 0, start) + 1
    colon = t.rfind(":", line_start, start)
    if colon < 0:
        return False
    # the few words before the colon
    k = bisect_right(tokens.starts, colon) - 1
    return any(tokens.words[x] in _NEGATORS for x in range(max(0, k - 4), k + 1))


def _may_negate_list(t: str, tokens: Tokens) -> bool:
    """Can :func:`_list_negated` be true anywhere in ``t``? Only after a colon with a negator
    among the five tokens ending at the token before it (an ad has a few colons at most)."""
    starts, words = tokens.starts, tokens.words
    colon = t.find(":")
    while colon >= 0:
        k = bisect_right(starts, colon) - 1
        if not _NEGATORS.isdisjoint(words[max(0, k - 4) : k + 1]):
            return True
        colon = t.find(":", colon + 1)
    return False


_AFTER_NEGATORS = (("not", "required"), ("not", "needed"), ("tidak", "perlu"), ("tidak", "ada"),
                   ("tidak", "diperlukan"), ("tidak", "wajib"), ("is", "not"), ("not",), ("nggak",),
                   ("tidak",))  # fmt: skip
_AFTER_NEGATOR_STARTS = frozenset(neg[0] for neg in _AFTER_NEGATORS)


def _negated_after(tokens: Tokens, j: int) -> bool:
    """A post-posed negation: "visa kerja tidak perlu", "working visa NOT required"."""
    words = tokens.words
    if j >= len(words) or words[j] not in _AFTER_NEGATOR_STARTS:
        return False
    nxt = tuple(words[j : j + 2])
    return any(nxt[: len(neg)] == neg for neg in _AFTER_NEGATORS)


#: where a sentence ends (a run of stops or line breaks), for Analysis and the rules
SENTENCE_END_RE = re.compile(r"[.!?\n]+")
# how far Analysis looks for the end of a sentence before splitting the whole text instead
# (bounded, so many lookups in a long text without punctuation stay linear)
_SENTENCE_LOOKAHEAD = 300
#: kind of each lexicon key met so far ("city:Bavet" -> "city"; "" for "warning_cue")
_KIND_OF_KEY: dict[str, str] = {}


def _group_hits(hits: list[PhraseHit]) -> tuple[dict[str, list[PhraseHit]], dict[str, list]]:
    """Hits by key and by kind (the key's part before ":"), each list in text order."""
    by_key: dict[str, list[PhraseHit]] = {}
    by_kind: dict[str, list[PhraseHit]] = {}
    kind_of = _KIND_OF_KEY
    for h in hits:
        key = h[0]
        got = by_key.get(key)
        if got is None:  # (no empty list made and thrown away for the keys already met)
            by_key[key] = [h]
        else:
            got.append(h)
        kind = kind_of.get(key)
        if kind is None:
            head, sep, _ = key.partition(":")
            kind = kind_of[key] = head if sep else ""
        if kind:
            got = by_kind.get(kind)
            if got is None:
                by_kind[kind] = [h]
            else:
                got.append(h)
    return by_key, by_kind


@dataclass
class Analysis:
    """Everything computed once per ad and shared by the extractor and the rules.

    Sentence boundaries are computed lazily: most ads never need them (no warning words), and
    the others usually only need the ends of a few sentences.
    """

    nt: NormalisedText
    tokens: Tokens
    hits: list[PhraseHit]
    extraction: Extraction
    _ends: list[int] | None = None
    _warned: set[int] = field(default_factory=set)
    #: hits grouped by key, each list in text order
    by_key: dict[str, list[PhraseHit]] = field(init=False)
    _kinds: dict[str, list[PhraseHit]] = field(init=False)
    #: can a negated list occur in this ad (see :meth:`negated`); found on first use
    _negated_lists: bool | None = None

    def __post_init__(self) -> None:
        # every ad needs the groupings at once: made here, one pass for both (a lazy property
        # would cost more than it saves)
        self.by_key, self._kinds = _group_hits(self.hits)

    def kind(self, prefix: str) -> list[PhraseHit]:
        """Hits whose key is ``prefix:...`` ("country", "visa", "job", "fee", "cue")."""
        return self._kinds.get(prefix, [])

    def negated(self, i: int, window: int = 3) -> bool:
        """:func:`negated` for token ``i`` of this ad.

        Most ads negate no list ("tidak ada: ..."), and then only a negator among the
        ``window`` tokens before ``i`` can negate it: most tokens asked about need no look at
        the text around them.
        """
        lists = self._negated_lists
        if lists is None:
            lists = self._negated_lists = _may_negate_list(self.nt.text, self.tokens)
        if not lists and _NEGATORS.isdisjoint(
            self.tokens.words[i - window if i > window else 0 : i]
        ):
            return False
        return negated(self.nt.text, self.tokens, i, window)

    @property
    def sentence_ends(self) -> list[int]:
        if self._ends is None:
            self._ends = list(map(_MATCH_END, SENTENCE_END_RE.finditer(self.nt.text)))
        return self._ends

    def _sentence_id(self, pos: int) -> int:
        """The end of the sentence holding ``pos`` (-1 for the last one): one id per sentence,
        usually found by looking ahead a little instead of splitting the whole text."""
        if self._ends is None:
            text = self.nt.text
            limit = pos + _SENTENCE_LOOKAHEAD
            m = SENTENCE_END_RE.search(text, pos, limit)
            if m is None and limit >= len(text):
                return -1
            if m is not None and m.end() < limit:  # a run of marks cut at ``limit`` may go on
                return m.end()
        ends = self.sentence_ends  # a long sentence: split once, bisect from then on
        k = bisect_right(ends, pos)
        return ends[k] if k < len(ends) else -1

    def mark_warning(self, pos: int) -> None:
        self._warned.add(self._sentence_id(pos))

    @property
    def n_warning_sentences(self) -> int:
        return len(self._warned)

    def in_warning(self, pos: int) -> bool:
        return bool(self._warned) and self._sentence_id(pos) in self._warned


_HIT_I = itemgetter(1)
_HIT_START = itemgetter(3)
_HIT_J = itemgetter(2)


def _longest_first(hits: list[PhraseHit]) -> list[PhraseHit]:
    """``hits`` by first token, the longer of two hits there first (otherwise in their order).

    Two stable sorts on C-level keys (end token, descending; then first token).
    """
    return sorted(sorted(hits, key=_HIT_J, reverse=True), key=_HIT_I)


_KH_KEYS = ("country:Cambodia", "city:Sihanoukville", "city:Bavet", "city:Phnom Penh")


def _extract_lexicon(an: Analysis) -> None:
    nt, tokens, ex = an.nt, an.tokens, an.extraction
    words = tokens.words

    # places: longest match wins where hits overlap
    place_hits = _longest_first(an.kind("country") + an.kind("city") + an.kind("transit"))
    covered_until = -1
    for key, i, j, start, end in place_hits:
        if i < covered_until:
            continue
        covered_until = j
        if i and (
            words[i - 1] in _LANGUAGE_WORDS
            or (i > 1 and words[i - 2] in _LANGUAGE_WORDS and words[i - 1] == "dan")
        ):
            continue  # "bahasa Arab", "bhs Inggris": a language, not a place
        kind, name, attrs = _PLACE_KEYS[key]
        if kind == "transit":
            ex.transits.append(_item(nt, name, start, end, attrs.copy()))
            continue
        warn = an.in_warning(start) or an.negated(i, 2)
        target = ex.warned_places if warn else ex.destinations
        target.append(
            _item(nt, attrs["country"], start, end, {"kind": kind, "name": name, **attrs})
        )
    # "pp" as Phnom Penh
    if "pp" in words:
        has_kh = any(k in an.by_key for k in _KH_KEYS)
        for i in [i for i, w in enumerate(words) if w == "pp"]:
            if not _PP_TICKET_WORDS.isdisjoint(words[max(0, i - 3) : i + 3]):
                continue
            if has_kh or (i > 0 and words[i - 1] in _PP_PLACE_WORDS):
                a, b = tokens.starts[i], tokens.ends[i]
                target = ex.warned_places if an.in_warning(a) else ex.destinations
                attrs = {"kind": "city", "name": "Phnom Penh", "country": "KH", "hub": True}
                target.append(_item(nt, "KH", a, b, attrs))
    ex.destinations.sort(key=_START)

    # visas (longest first; negation kept as an attribute: "tidak perlu visa kerja" matters)
    covered_until = -1
    for key, i, j, start, end in _longest_first(an.kind("visa")):
        if i < covered_until:
            continue
        covered_until = j
        vtype = key[5:]  # after "visa:"
        neg = an.negated(i, 4) or _negated_after(tokens, j)
        attrs = {"negated": neg, "warning": an.in_warning(start)}
        if vtype == "visa_free" and j < len(words) and words[j] in ("kerja", "work"):
            # "tanpa visa kerja" / "tidak perlu visa kerja" is a negated work visa
            attrs["negated"] = True
            ex.visas.append(_item(nt, "work", tokens.starts[j - 1], tokens.ends[j], attrs))
            covered_until = j + 1
        else:
            ex.visas.append(_item(nt, vtype, start, end, attrs))

    # job types (one item per category per span; longest match first)
    covered_until = -1
    for key, i, j, start, end in _longest_first(an.kind("job")):
        if i < covered_until:
            continue
        covered_until = j
        if i > 0 and words[i - 1] in _NOT_ROLE and key == "job:scam_role":
            continue  # "biaya admin", "hubungi call center": a fee or a contact, not a job
        if an.negated(i, 3):
            continue  # "bukan untuk pekerja rumah tangga"
        ex.job_types.append(_item(nt, key[4:], start, end, {}))  # after "job:"


# --------------------------------------------------------------------------------------------
# Small regex fields: ages, companies, permits, bank accounts, e-wallets, fees
# --------------------------------------------------------------------------------------------

# These fields are anchored on cue words found by the phrase matcher ("usia", "PT", "BCA"),
# so each pattern runs with .match() at a handful of positions instead of scanning the text.
_AGE_AT_RE = re.compile(
    r"(?:usia|umur|age|aged|ages|umr|berusia)\s{0,3}:?\s{0,3}(?:(?:antara|between)\s)?"
    r"(?:(?P<lo>min(?:imal|imum)?\.?|minimum|at least|mulai|dari)\s{0,3}"
    r"|(?P<hi>max(?:imal|imum)?\.?|maks(?:imal)?\.?|under|dibawah|di bawah|below|up to)\s{0,3})?"
    r"(?P<a>\d{2})(?:\s{0,3}(?:tahun|thn|th|years|yrs)?\s{0,3}(?:-|~|s\.?\s?d\.?|s/d|sampai|hingga|to|and|dan)"
    r"\s{0,3}(?P<b>\d{2})|\s{0,2}(?:tahun|thn|th|years|yrs)?\s{0,2}(?P<plus>\+|ke atas|keatas|and above|"
    r"or older|and over))?"
)
_AGE_BEFORE_UNIT_RE = re.compile(
    r"(?<!\d)(\d{2})\s{0,2}(?:-|~|s\.?\s?d\.?|s/d|sampai|hingga|to)\s{0,2}(\d{2})\s{0,2}$"
)
_COMPANY_PREFIX_AT_RE = re.compile(
    r"(?:(?:PT|Pt|CV)\.?|LPK|BLK|Yayasan|YAYASAN)\s+"
    r"([A-Z0-9][\w&'.-]*(?:[ ][A-Z0-9][\w&'.-]*){0,5})"
)
_CAPS_BEFORE_RE = re.compile(r"([A-Z][\w&'.-]*(?:[ ][A-Z][\w&'.-]*){0,4})[ ,]{1,3}$")
_SUFFIX_AT_RE = re.compile(
    r"(?:Sdn\.? ?Bhd|SDN\.? ?BHD|Co\.,? ?Ltd|CO\.,? ?LTD|Pte\.? ?Ltd|Ltd|LTD|Limited|Inc|LLC|Group|"
    r"Company|Corporation|Agency|GROUP|COMPANY|AGENCY)\b\.?"
)
_COMPANY_STOP = frozenset(
    [
        "Membuka",
        "Buka",
        "Butuh",
        "Dibutuhkan",
        "Mencari",
        "Lowongan",
        "Hiring",
        "Is",
        "Hubungi",
        "Untuk",
        "Di",
        "Ke",
        "Dengan",
        "Yang",
        "Dan",
        "Resmi",
        "Berizin",
        "Terdaftar",
        "Telah",
        "Sedang",
        "Kami",
        "We",
        "Our",
        "Now",
        "Job",
        "Jobs",
        "Kerja",
        "Gaji",
        "Info",
        "Minat",
        "Segera",
        "Tbk.",
    ]
)
_PERMIT_AT_RE = re.compile(
    r"(sip2mi|sip3mi|siup3mi|siuppmi|sip ?p3mi|sipppmi|siup ?pmi|nib|izin p3mi|no\.? izin|"
    r"nomor izin|job order|demand letter)\s{0,3}(?:no\.?|nomor|nmr|number|num|#)?\s{0,3}[:.#]?"
    r"\s{0,3}([a-z0-9][a-z0-9./-]{3,40})"
)
_BANK_NUMBER_RE = re.compile(r"[^\n\d]{0,25}?(\d(?:[ .-]?[\dx]){7,17})(?![\dx])")  # "8830xxxxxx"
_NUMBER_BEFORE_BANK_RE = re.compile(r"(\d(?:[ .-]?[\dx]){7,17})\s{0,3}(?:ke\s)?$")
_HOLDER_RE = re.compile(r"[^\n]{0,12}?(?:a\.?\s?n\.?|atas nama|an\.)\s{0,3}([a-z][a-z .']{2,40})")
_SPACE_DOT_RE = re.compile(r"[\s.]")
_NOT_ACCOUNT_CHAR_RE = re.compile(r"[^\dx]")
_PHONE_START_RE = re.compile(r"\s{0,3}:?\s{0,3}(?:\+?62|0)8")
_COMPANY_WORDS_RE = re.compile(r"\b(pt|cv|ltd|corp|company|perusahaan|koperasi|yayasan|lpk)\b")

FEE_PHRASES: dict[str, list[str]] = {
    "registration": ["biaya pendaftaran", "uang pendaftaran", "registration fee", "biaya registrasi",
                     "biaya daftar", "biaya aktivasi", "activation fee", "account activation",
                     "aktivasi akun", "biaya member", "biaya membership", "membership fee",
                     "upgrade akun", "top up", "topup", "isi saldo", "screening fee",
                     "biaya seleksi", "biaya kirim bahan"],
    "processing": ["biaya proses", "biaya administrasi", "biaya admin", "processing fee",
                   "admin fee", "uang administrasi", "dp proses", "biaya pengurusan",
                   "biaya pemberangkatan", "biaya keberangkatan", "biaya penempatan",
                   "placement fee", "service fee", "biaya jasa", "uang proses"],
    "medical": ["biaya medical", "biaya medikal", "medical fee", "biaya mcu", "biaya kesehatan",
                "medical check"],
    "training": ["biaya pelatihan", "biaya training", "training fee", "biaya kursus",
                 "biaya pembekalan"],
    "visa": ["biaya visa", "visa fee", "biaya paspor", "biaya passport", "biaya dokumen"],
    "ticket": ["biaya tiket", "uang tiket", "ticket fee"],
    "deposit": ["uang jaminan", "deposit", "booking seat", "booking fee", "down payment", "dp",
                "uang muka", "biaya booking", "jaminan"],
}  # fmt: skip
_PHRASES.update({f"fee:{k}": v for k, v in FEE_PHRASES.items()})
_PHRASES.update(
    {
        "cue:age": ["usia", "umur", "age", "aged", "ages", "berusia", "umr"],
        "cue:age_unit": ["tahun", "years", "yrs"],
        "cue:company_prefix": ["pt", "cv", "lpk", "blk", "yayasan"],
        "cue:company_suffix": ["sdn bhd", "co ltd", "pte ltd", "ltd", "limited", "inc", "llc",
                               "group", "company", "corporation", "agency"],
        "cue:permit": ["sip2mi", "sip3mi", "siup3mi", "siuppmi", "sip p3mi", "sipppmi",
                       "siup pmi", "nib", "izin p3mi", "no izin", "nomor izin", "job order",
                       "demand letter"],
        "cue:bank": ["bca", "bri", "bni", "mandiri", "bsi", "cimb niaga", "cimb", "btn",
                     "permata", "danamon", "seabank", "bank jago", "muamalat", "ocbc", "panin",
                     "maybank"],
        "cue:ewallet": ["dana", "ovo", "gopay", "shopeepay", "linkaja"],
        "cue:salary": ["gaji", "salary", "upah", "biaya", "harga", "fee", "bayar", "transfer",
                       "pay"],
        # ("$" in us$/nt$/hk$/s$ and glued "rp15.000" are found by _money_windows itself)
        "cue:money": ["juta", "ribu", "jutaan", "usd", "dollar", "dollars", "dolar", "rm",
                      "ringgit", "sgd", "hkd", "twd", "ntd", "yen", "won", "riyal", "rial",
                      "real", "dirham", "aed", "sar", "qar", "kwd", "baht", "bath", "yuan", "rmb",
                      "euro", "eur", "peso", "rupiah", "idr", "krw", "jpy", "myr", "thb",
                      "million", "millions", "thousand", "mio", "gbp", "cny", "php"],
    }
)  # fmt: skip
_MATCHER: list[PhraseMatcher] = []


def _matcher() -> PhraseMatcher:
    """One matcher for the extraction lexicon and the rules' lexicon: one pass per ad.

    Built on first use because the rules' phrases live in :mod:`pipeline.redflags`, which
    imports this module.
    """
    if not _MATCHER:
        from pipeline.redflags import LEXICON

        _MATCHER.append(PhraseMatcher({**_PHRASES, **LEXICON}))
    return _MATCHER[0]


_WORKER_PAYS = frozenset(
    [
        "pelamar",
        "sendiri",
        "peserta",
        "calon",
        "kandidat",
        "pekerja",
        "applicant",
        "applicants",
        "candidate",
        "candidates",
        "you",
        "worker",
    ]
)
_EMPLOYER_PAYS = frozenset(
    [
        "perusahaan",
        "majikan",
        "employer",
        "company",
        "agency",
        "pt",
        "user",
        "kantor",
        "pemerintah",
    ]
)
_PAYER_VERBS = frozenset(
    ["ditanggung", "tanggung", "dibayar", "paid", "covered", "borne", "oleh", "by"]
)


_FREE_WORDS = frozenset(["gratis", "free", "nol", "0"])


def _extract_small(an: Analysis) -> None:
    nt, ex = an.nt, an.extraction
    t = nt.text
    orig = nt.original
    fspan = nt.fspan
    cues = an.by_key

    # ages
    seen: list[tuple[int, int]] = []
    for h in cues.get("cue:age", ()):
        m = _AGE_AT_RE.match(t, h.start)
        if m is None or m.group("a") is None:
            continue
        a, b = m.span()
        v = int(m.group("a"))
        if m.group("b"):
            hi = int(m.group("b"))
            if not 10 <= v < hi <= 80:
                continue
            ex.ages.append(_item(nt, f"{v}-{hi}", a, b, {"min": v, "max": hi}))
        elif m.group("hi"):
            if 15 <= v <= 80:
                ex.ages.append(_item(nt, f"-{v}", a, b, {"min": None, "max": v}))
        elif 10 <= v <= 70:  # "usia min 21", "aged 25+", "usia 16 tahun ke atas", "usia 17"
            ex.ages.append(_item(nt, f"{v}-", a, b, {"min": v, "max": None}))
        seen.append((a, b))
    for h in cues.get("cue:age_unit", ()):
        m = _AGE_BEFORE_UNIT_RE.search(t, max(0, h.start - 16), h.start)
        if m is None or any(x <= m.start() < y for x, y in seen):
            continue
        lo, hi = int(m.group(1)), int(m.group(2))
        if 10 <= lo < hi <= 80:
            ex.ages.append(_item(nt, f"{lo}-{hi}", m.start(), h.end, {"min": lo, "max": hi}))
    ex.ages.sort(key=_START)

    # companies: on the cased original (case is the signal)
    for h in cues.get("cue:company_prefix", ()):
        s0, _ = fspan(h.start, h.end)
        m = _COMPANY_PREFIX_AT_RE.match(orig, s0)
        if m is None:
            continue
        words = m.group(1).split(" ")
        while words and (words[-1] in _COMPANY_STOP or not words[-1][:1].isupper()):
            words.pop()
        if not words:
            continue
        prefix = m.group(0).split(None, 1)[0].rstrip(".").upper()
        name = " ".join(words).rstrip(".,-")
        e = m.start(1) + len(name)
        ex.companies.append(Item(f"{prefix} {name}", s0, e, orig[s0:e], {"prefix": prefix}))
    for h in cues.get("cue:company_suffix", ()):
        s0, _ = fspan(h.start, h.end)
        sm = _SUFFIX_AT_RE.match(orig, s0)
        if sm is None:
            continue
        m = _CAPS_BEFORE_RE.search(orig, max(0, s0 - 80), s0)
        if m is None:
            continue
        words = m.group(1).split(" ")
        while words and words[0] in _COMPANY_STOP:
            words.pop(0)
        if not words:
            continue
        a = m.end(1) - len(" ".join(words))
        e = sm.end()
        if any(c.start <= a < c.end for c in ex.companies):
            continue
        ex.companies.append(Item(orig[a:e], a, e, orig[a:e], {"suffix": sm.group(0)}))
    ex.companies.sort(key=_START)

    # permits (SIP2MI, SIP3MI, NIB, job order) as text: no format is authoritative (§13)
    for h in cues.get("cue:permit", ()):
        m = _PERMIT_AT_RE.match(t, h.start)
        if m is None:
            continue
        num = m.group(2).rstrip("./-")
        if not any(c.isdigit() for c in num):
            continue
        kind = _SPACE_DOT_RE.sub("", m.group(1)).upper()
        s0, e0 = fspan(m.start(), m.start(2) + len(num))
        ns, ne = fspan(m.start(2), m.start(2) + len(num))
        ex.permits.append(
            Item(f"{kind}:{orig[ns:ne].upper()}", s0, e0, orig[s0:e0], {"type": kind})
        )

    # bank accounts and e-wallets (D2: payment to a personal account)
    for h in cues.get("cue:bank", ()):
        m = _BANK_NUMBER_RE.match(t, h.end)
        if m is not None:
            a0, b = h.start, m.end(1)
            number = _NOT_ACCOUNT_CHAR_RE.sub("", m.group(1))
        else:
            mb = _NUMBER_BEFORE_BANK_RE.search(t, max(0, h.start - 24), h.start)
            if mb is None:
                continue
            a0, b = mb.start(1), h.end
            number = _NOT_ACCOUNT_CHAR_RE.sub("", mb.group(1))
        hm = _HOLDER_RE.match(t, b)
        holder = hm.group(1).strip() if hm else None
        personal = bool(holder) and not _COMPANY_WORDS_RE.search(holder or "")
        bank = t[h.start : h.end].upper()
        attrs = {"bank": bank, "holder": holder, "personal": personal}
        ex.bank_accounts.append(_item(nt, f"{bank}:{number}", a0, b, attrs))
    words = an.tokens.words
    for h in cues.get("cue:ewallet", ()):
        name = words[h.i]
        if name == "dana" and not _PHONE_START_RE.match(t, h.end):
            continue  # "dana" is also plain "funds" ("dana talangan")
        ex.ewallets.append(_item(nt, name.upper(), h.start, h.end, {}))

    # fees: purpose phrases + nearby amount + who pays, negation-aware
    n_words = len(words)
    for h in an.kind("fee"):
        purpose = h.key[4:]  # after "fee:"
        j = h.j
        # "dp"/"jaminan" alone are fees only next to an amount
        if purpose == "deposit" and words[h.i] in ("dp", "jaminan") and j - h.i == 1:
            at = fspan(h.end, h.end)[0]
            if not any(0 <= mo.start - at <= 25 for mo in ex.money):
                continue
        neg = an.negated(h.i, 4)
        payer = "none" if neg or not _FREE_WORDS.isdisjoint(words[j : j + 4]) else "worker"
        # "ditanggung perusahaan" / "dibayar oleh pelamar": a payer after a verb
        verb_seen = False
        for k in range(j, min(n_words, j + 6)):
            w = words[k]
            if verb_seen and w in _EMPLOYER_PAYS:
                payer = "employer"
                break
            if verb_seen and w in _WORKER_PAYS:
                payer = "worker"
                break
            verb_seen = verb_seen or w in _PAYER_VERBS
        s, e = fspan(h.start, h.end)
        amount = None
        for mo in ex.money:
            if 0 <= mo.start - e <= 30 and "\n" not in orig[e : mo.start]:
                amount = mo
                break
        attrs: dict[str, Any] = {
            "purpose": purpose,
            "payer": payer,
            "negated": neg,
            "warning": an.in_warning(h.start),
        }
        if amount is not None:
            attrs.update(
                amount=amount.attrs["amount_min"],
                currency=amount.attrs["currency"],
                idr=amount.attrs["idr"],
            )
            e2 = amount.end
        else:
            e2 = e
        ex.fees.append(Item(purpose, s, e2, orig[s:e2], attrs))


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def _outside(hits: list[PhraseHit], spans: list[tuple[int, int]]) -> list[PhraseHit]:
    """The hits (in text order) not inside any of ``spans``.

    A hit ``(a, b)`` is inside a span ``(x, y)`` with ``x <= a`` and ``b <= y``: the hits
    starting in ``[x, y)`` are one run of the list, found by bisection, and usually none.
    """
    starts = list(map(_HIT_START, hits))
    n = len(starts)
    inside = set()
    for x, y in spans:
        k = bisect_left(starts, x)
        while k < n and starts[k] < y:
            if hits[k].end <= y:
                inside.add(k)
            k += 1
    if not inside:
        return hits
    return [h for k, h in enumerate(hits) if k not in inside]


def analyse(text: str) -> Analysis:
    """Normalise, tokenise, match the lexicon once and extract every field (shared by rules)."""
    nt = normalise(text)
    tokens = nt.tokens
    ex = Extraction(language=_language_of_words(tokens.words))
    taken, wordy = _extract_contacts(nt, ex)
    hits = _matcher().find(tokens)
    # words inside a link, handle or e-mail ("t.me/jobs_cambodia") are not places or phrases
    # (contacts were read on ``folded``, which shares offsets with ``text``: no mapping needed)
    if wordy:
        hits = _outside(hits, wordy)
    an = Analysis(nt, tokens, hits, ex)
    for h in an.by_key.get("warning_cue", ()):
        an.mark_warning(h.start)
    _extract_money(nt, ex, taken, an.by_key)
    _extract_lexicon(an)
    _extract_small(an)
    return an


def extract(text: str) -> Extraction:
    """Extract structured fields with spans into ``text``. Never raises on a ``str``.

    >>> ex = extract("Gaji 15jt/bln, WA 0812-3456-7890, lokasi Phnom Penh")
    >>> ex.phones[0].value, ex.money[0].attrs["idr_month"], ex.destinations[0].value
    ('+6281234567890', 15000000, 'KH')
    """
    return analyse(text).extraction
