"""Explainable red-flag rules, combination patterns and scores (docs: redflags.md §6-§8).

A rule is a small pure function over the once-per-ad :class:`~pipeline.extract.Analysis`
(normalised text, tokens, lexicon hits, extracted fields). It returns the evidence spans it
matched in the original text, or nothing. Rules are named after the taxonomy
(``A1_scam_hub_destination``), carry a severity tier and the scores they feed.

Warnings are not offers: a hit inside a sentence that warns ("waspada penipuan ... visa
turis") never fires a positive flag, and a whole text that reads as a warning (warning words,
no private contact, no call to apply) fires none. Negated phrases ("tidak dipungut biaya",
"bukan visa turis") are skipped. Family L flags are mitigating and always shown as "claimed,
unverified": nothing here checks a registry.

Scoring follows §8: points per tier, a per-family cap, pattern bonuses P1-P7 that carry most
of the signal, three scores (``tppo``, ``nonprocedural``, ``fee_fraud``), a priority and a band.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, compress, groupby, repeat
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from pipeline.extract import (
    BAIT_COUNTRIES,
    FIELD_NAMES,
    ME_MORATORIUM,
    NON_PLACEMENT,
    PLACEMENT_COUNTRIES,
    SCAM_HUB_COUNTRIES,
    SENTENCE_END_RE,
    Analysis,
    Extraction,
    Item,
    analyse,
)

RULES_VERSION = "2026.11.2"

SCORES = ("tppo", "nonprocedural", "fee_fraud")
POINTS = {"C": 35, "H": 20, "M": 10, "L": 4, "X": 0, "-": 0}
#: Mitigating claims lower the non-critical part of a score; unverified, so below §8.1's values.
MITIGATION = {
    "L1_licensed_p3mi_claimed": 15,
    "L2_job_order_number": 15,
    "L3_official_portal": 15,
    "L4_procedural_language": 10,
    "L5_placement_country_formal_job": 10,
}
FAMILY_CAP = 45
BANDS = ((70, "Prioritas tinggi"), (45, "Tinjau"), (20, "Pantau"), (0, "Rendah"))
MAX_EVIDENCE = 5

# --------------------------------------------------------------------------------------------
# Data types (the contract other modules code against)
# --------------------------------------------------------------------------------------------


class Evidence(NamedTuple):
    """A span into the ORIGINAL text and the words it covers (immutable; a tuple, as there are
    many per ad)."""

    start: int
    end: int
    text: str


#: An evidence span ``(start, end)`` in the original text. Rules return spans; only the few
#: kept per flag become :class:`Evidence` (see :func:`_evidence`).
Span = tuple[int, int]


@dataclass(frozen=True)
class Flag:
    id: str
    family: str
    severity: str
    feeds: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    description: str
    mitigating: bool = False

    @property
    def points(self) -> int:
        return POINTS.get(self.severity, 0)

    def to_dict(self) -> dict[str, Any]:
        evidence = self.evidence
        out: dict[str, Any] = {
            "id": self.id,
            "family": self.family,
            "severity": self.severity,
            "evidence": evidence[0].text if evidence else "",
            "spans": [[start, end] for start, end, _ in evidence],
            "description": self.description,
            "mitigating": self.mitigating,
        }
        if self.mitigating:
            out["status"] = "claimed, unverified"
        return out


@dataclass
class Assessment:
    flags: list[Flag]
    patterns: list[str]
    scores: dict[str, int]
    priority: int
    band: str
    language: str
    fields: Extraction
    rules_version: str = RULES_VERSION

    def top_flags(self, n: int = 5) -> list[Flag]:
        """Strongest positive flags first (by points, then taxonomy order), then mitigators."""
        pos = sorted((f for f in self.flags if not f.mitigating), key=lambda f: (-f.points, f.id))
        mit = [f for f in self.flags if f.mitigating]
        return (pos + mit)[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": dict(self.scores),
            "band": self.band,
            "priority": self.priority,
            "patterns": list(self.patterns),
            "flags": [f.to_dict() for f in self.flags],
            "language": self.language,
            "rules_version": self.rules_version,
            "fields": self.fields.to_dict(),
        }


@dataclass(frozen=True)
class Rule:
    id: str
    family: str
    severity: str
    feeds: tuple[str, ...]
    description: str
    func: Callable[[Ctx], list[Span]] = field(compare=False)

    @property
    def mitigating(self) -> bool:
        return self.family == "L"


# --------------------------------------------------------------------------------------------
# Lexicon (one phrase-matcher pass per ad, shared with pipeline.extract)
# --------------------------------------------------------------------------------------------

# Phrases are written in expanded lower-case form; shorthand in them is expanded too.
LEXICON: dict[str, list[str]] = {
    "warning_cue": [
        "hati hati", "jangan tergiur", "jangan mudah percaya", "jangan percaya", "jangan mau",
        "waspada", "waspadai", "penipuan", "modus", "korban", "tppo", "imbauan", "himbauan",
        "peringatan", "beware", "scam alert", "be careful", "laporkan", "report it",
        "perdagangan orang", "human trafficking", "non prosedural", "nonprosedural",
        "palsu", "hoaks", "hoax", "cek fakta", "cekfakta", "mengingatkan", "mengimbau", "imbau",
        "tergiur", "tanda bahaya", "scamalert", "scam", "waspadatppo", "stoptppo", "jalur ilegal",
        "pmi ilegal", "tki ilegal", "tenaga kerja indonesia ilegal", "secara ilegal", "kisah",
        "ujar", "tersangka", "ditangkap", "dipulangkan", "tertipu", "ditipu", "jangan tertipu",
        "hilang kontak", "bantu share", "fake job", "fake job offers", "red flags",
        "klarifikasi", "mencatut", "bukan milik kami", "mengatasnamakan", "sharing pengalaman", "advisory", "repatriated", "victims", "trap", "awareness", "be wary", "do not pay", "recruitmentfraud", "fraud", "falls for", "my story", "share my story", "not a job", "please dont apply", "please don t apply", "diselamatkan", "evakuasi", "not a university programme",
        "allegedly", "spokesman", "spokesperson", "diduga", "police said", "jangan lewat", "cerita sedih", "you never pay", "never pay", "real employers", "tidak pernah meminta", "posing as tourists",
    ],
    "solicit": [
        "minat", "berminat", "inbox", "komen", "jalur pribadi", "direct message", "kirim cv",
        "apply", "apply now", "daftar sekarang", "buruan", "hubungi kami", "contact us",
        "join us", "interested", "segera daftar", "info lebih lanjut", "send your cv",
    ],
    "pickup": [
        "dijemput", "jemput", "penjemputan", "pick up", "picked up", "picks you up",
        "pickup", "lanjut darat", "perjalanan darat", "jalur darat", "via darat", "land transfer",
        "by land", "overland", "lanjut ke", "dilanjutkan ke", "diantar ke", "transit",
        "nanti diantar", "driver will", "our driver", "lewat darat",
        "kumpul di", "titik kumpul", "meeting point",
    ],
    "irregular_crossing": [
        "jalur tikus", "jalur belakang", "pelabuhan tikus", "jalan tikus", "tanpa paspor",
        "tidak perlu paspor", "no passport needed", "no passport", "back route", "backdoor",
        "back door", "speed boat malam", "speedboat malam", "naik speed", "naik speedboat",
        "nyebrang malam", "menyeberang malam", "boat crossing", "lewat hutan", "jalur laut",
        "kapal kecil", "lewat perbatasan",
    ],
    "crossing_cue": ["speed", "speedboat", "speed boat", "perahu", "nyebrang", "menyeberang",
                     "boat", "malam hari", "pompong", "malam malam", "feri", "ferry"],
    "vague_destination": [
        "negara tujuan menyusul", "negara menyusul", "lokasi dirahasiakan", "lokasi menyusul",
        "lokasi akan diinformasikan", "lokasi diberitahu", "negara dirahasiakan",
        "location will be informed", "location to be confirmed", "location will be told",
        "tergantung slot", "tergantung kuota", "depending on vacancy", "depending on slot",
        "negara tujuan dirahasiakan", "lokasi kerja dirahasiakan", "negara bebas",
        "dapat disesuaikan dengan kebutuhan", "kawasan mekong", "penempatan akhir", "final placement", "location may change", "penempatan dapat berubah", "di luar malaysia", "sesuai penugasan", "affiliate office", "kantor afiliasi",
    ],
    "indonesian_required": [
        "bisa bahasa indonesia", "wajib bahasa indonesia", "fasih bahasa indonesia",
        "menguasai bahasa indonesia", "lancar bahasa indonesia", "mampu bahasa indonesia",
        "bisa berbahasa indonesia", "bahasa indonesia wajib", "indonesian speaker",
        "indonesian speakers", "indonesian speaking", "speak indonesian", "bahasa indonesia native",
        "native indonesian", "melayani customer indonesia", "customer indonesia",
        "pelanggan indonesia", "indonesian market", "indonesian customers", "target indonesia",
        "pasar indonesia", "fluent in bahasa indonesia", "fluent indonesian",
        "indonesian language customers", "indonesian language", "indonesian chat",
        "pelanggan berbahasa indonesia", "berbahasa indonesia",
    ],
    "vague_job": [
        "kerja ringan", "kerja santai", "pekerjaan ringan", "pekerjaan mudah", "kerja mudah",
        "detail via jalur pribadi", "detail jalur pribadi", "info detail jalur pribadi",
        "detail di inbox", "easy job", "easy work", "easy office work", "details in direct message",
        "details in dm", "simple job", "cuma main hp", "hanya main hp", "depan komputer saja",
    ],
    "chinese_employer": [
        "mandarin", "bahasa mandarin", "bos china", "bos cina", "bos tiongkok", "perusahaan china",
        "perusahaan cina", "perusahaan tiongkok", "chinese company", "chinese boss",
        "chinese employer", "china company", "boss china", "atasan china",
    ],
    "fishing_rush": ["langsung naik", "langsung berangkat", "board immediately", "kapal korea",
                     "kapal taiwan", "kapal china", "kapal asing", "tanpa pengalaman laut"],
    "commission": [
        "komisi", "bonus per closing", "plus commission", "commission per", "commission based", "bonus closing", "target harian", "target bulanan",
        "deposit member", "bonus deposit", "commission", "kpi bonus", "per deposit",
        "bonus target", "komisi deposit", "per closing", "incentives",
    ],
    "vague_income": [
        "gaji besar", "gaji menggiurkan", "gaji fantastis", "gaji tinggi", "gaji dolar",
        "gaji dollar", "penghasilan dolar", "penghasilan besar", "penghasilan menggiurkan",
        "cepat kaya", "high income", "high salary", "earn in dollars", "big salary",
        "huge income", "gaji jumbo", "gaji puluhan juta", "belasan juta",
        "dibayar dolar", "bayaran dolar",
    ],
    "salary_deferred": [
        "gaji dibicarakan", "gaji nego", "nego di tempat", "gaji menyesuaikan",
        "gaji dijelaskan", "gaji diinfokan", "salary discussed", "salary to be discussed",
        "salary negotiable on arrival", "salary will be discussed", "gaji dibahas",
    ],
    "fee_demand": [
        "bayar dulu", "transfer dulu", "pay first", "bayar di muka", "bayar didepan",
        "bayar di depan", "uang pendaftaran", "pay the fee", "pay a fee", "biaya ditanggung pelamar",
        "ditanggung pelamar", "biaya sendiri", "ditanggung sendiri", "biaya pribadi",
        "top up", "need top up", "combination order", "gold member", "diamond member", "member vip",
        "vip member", "akun pro", "upgrade ke akun", "aktivasi akun", "account activation",
        "activation only", "deposit dulu", "bayar aktivasi", "uang pelicin", "setelah pembayaran",
        "after payment", "setelah transfer", "pembayaran terverifikasi",
        "wajib memesan tiket", "melalui travel rekanan", "travel rekanan", "wajib beli tiket", "saldo sendiri", "deposit jaminan", "ongkir ditanggung pekerja", "ditanggung pekerja", "deposit keseriusan", "security deposit", "employment security deposit", "bayar seragam", "biaya tes", "biaya lmia", "cos assignment", "visa stamping", "stamping fee",
    ],
    "personal_account": [
        "rekening pribadi", "rekening saya", "personal account", "my account", "akun pribadi",
        "rekening atas nama saya", "my personal account",
        "moneygram", "western union", "mtcn", "to our visa officer", "to our processing officer", "processing officer", "visa officer", "ke agen", "to our agent", "ditransfer ke petugas",
    ],
    "debt": [
        "potong gaji", "dipotong gaji", "dipotong dari gaji", "potongan gaji", "potong dari gaji",
        "ditalangi", "talangan", "dana talangan", "dibayarin dulu", "dibayari dulu",
        "dibayarkan dulu", "dibayar dulu", "pinjaman", "kasbon", "uang panjar", "panjar",
        "deducted from salary", "deducted from your salary", "deducted from your wages",
        "salary deduction", "advance payment", "we advance", "cicil dari gaji", "bayar dari gaji",
        "diganti dari gaji", "ganti dari gaji", "kami talangi", "loan", "hutang", "utang",
        "deducted later", "repay from salary", "nanti potong gaji",
    ],
    "benefit_ticket": ["tiket", "ticket", "flight", "pesawat", "tiket pesawat", "airfare"],
    "benefit_visa": ["visa", "work permit", "permit"],
    "benefit_housing": ["mess", "asrama", "akomodasi", "accommodation", "housing",
                        "tempat tinggal", "dormitory", "apartemen", "dorm"],
    "benefit_food": ["makan", "meals", "food", "konsumsi"],
    "benefit_transport": ["transport", "transportasi", "antar jemput"],
    "benefit_free": ["gratis", "free", "ditanggung", "disediakan", "covered", "provided",
                     "dibayar perusahaan", "dibayarin", "dibiayai"],
    "penalty": ["ganti biaya", "ganti rugi", "denda", "penalty", "pinalti", "penalti",
                "kompensasi", "bayar ganti", "didenda", "fined", "reimburse"],
    "quit": ["mundur", "resign", "keluar", "berhenti", "batal", "kabur", "quit", "cancel",
             "pulang sebelum", "leave early", "leave the company", "putus kontrak"],
    "family_money": [
        "uang terima kasih", "keluarga dapat uang", "keluarga mendapat uang", "uang untuk keluarga",
        "uang fit", "pocket money", "cash for your family", "money for your family",
        "uang sirih", "uang saku selama", "uang saku di penampungan", "keluarga diberi uang",
    ],
    "pocket_money": ["uang saku"],
    "holding_house": ["penampungan", "selama menunggu", "while waiting"],
    "visa_on_site": [
        "visa diurus di sana", "visa diurus disana", "visa diurus di lokasi", "visa dibuat di sana",
        "visa dibuat disana", "visa diurus setelah sampai", "permit diurus kantor",
        "work permit arranged after arrival", "convert to work permit", "convert to work visa",
        "we convert", "diubah jadi visa kerja", "ganti visa kerja di sana", "visa diurus nanti",
        "visa menyusul", "visa diurus perusahaan di sana", "company arranges work permit",
        "arrange work permit after", "permit after arrival",
        "visa diurus di", "visa dan medical diurus", "permit diurus di", "visa dibuat di",
        "tidak ikut pulang", "overstay", "setelah sampai di", "diuruskan majikan setelah sampai", "permit diurus setelah sampai", "diurus majikan setelah sampai",
    ],
    "minimal_docs": [
        "modal paspor", "cukup paspor", "cukup ktp", "hanya ktp", "hanya paspor",
        "ktp dan kk saja", "ktp kk saja", "paspor saja", "cuma paspor", "cuma ktp",
        "tanpa kontrak", "tidak perlu kontrak", "only passport", "passport only",
        "no documents required", "no documents needed", "paspor biasa", "just your passport",
        "only need a passport", "only need passport", "tanpa dokumen",
        "tanpa permit", "permit kerja tidak ada", "tidak ada permit", "permit sambil jalan", "tanpa surat rekomendasi", "tanpa rekomendasi",
    ],
    "contract_abroad": [
        "kontrak ditandatangani di lokasi", "kontrak ditandatangani di sana",
        "kontrak ditandatangani disana", "kontrak ditandatangani setelah sampai",
        "kontrak ditandatangani di negara tujuan", "tanda tangan kontrak di sana",
        "tanda tangan kontrak disana", "tanda tangan kontrak di lokasi", "kontrak di sana",
        "kontrak bahasa mandarin", "kontrak berbahasa mandarin", "kontrak dalam bahasa mandarin",
        "sign contract on arrival", "contract signed on arrival", "contract will be signed there",
        "contract in chinese", "sign the contract there", "sign the contract after arrival",
        "kontrak setelah sampai",
    ],
    "immigration_coaching": [
        "bilang liburan", "bilang mau liburan", "bilang saja liburan", "bilang jalan jalan",
        "bilang mau jalan jalan", "bilang saja mau jalan jalan", "bilang wisata", "mengaku turis",
        "ngaku liburan", "ngaku turis", "jangan bilang kerja", "jangan bilang mau kerja",
        "kalau ditanya petugas", "jika ditanya petugas", "kalau ditanya imigrasi",
        "jika ditanya imigrasi", "tiket pulang palsu", "tiket pulang bohongan",
        "tell immigration", "say you are a tourist", "say you are on holiday",
        "pretend to be a tourist", "return ticket for show", "dummy return ticket",
        "dummy ticket", "bilang ke imigrasi", "ditanya imigrasi bilang",
        "bilang saja mau liburan", "bilang mau melancong", "bilang saja mau melancong",
    ],
    "falsification": [
        "umur kurang bisa diurus", "usia kurang bisa diurus", "umur bisa diatur",
        "usia bisa diatur", "ktp bisa dibantu", "ktp bisa diurus", "data bisa diubah",
        "umur bisa dituakan", "dituakan", "paspor aspal", "ktp aspal", "we fix documents",
        "we fix your documents", "age not a problem", "age is not a problem", "underage ok",
        "umur kurang tidak masalah", "usia kurang tidak masalah", "umur dinaikkan",
        "usia dinaikkan", "umur bisa dinaikkan",
    ],
    "passport_arranged": [
        "paspor dibuatkan", "paspor kami buatkan", "paspor diurus", "paspor kami urus",
        "we process your passport", "passport arranged", "pembuatan paspor dibantu",
        "paspor dibantu",
    ],
    "individual": [
        "agen", "sponsor", "calo", "dari saya langsung", "hubungi saya", "i am the agent",
        "direct message me", "message me", "kontak saya", "lewat saya", "lewat sponsor",
        "info dari saya", "chat saya", "langsung ke saya", "saya agen", "dm me",
        "bu", "pak", "kak", "mbak", "mas",
    ],
    "private_channel": ["jalur pribadi", "inbox", "direct message", "private message",
                        "whatsapp only", "telegram only", "chat pribadi"],
    "gov_claim": [
        "resmi bp2mi", "program resmi", "program pemerintah", "terdaftar kemnaker",
        "terdaftar di kemnaker", "terdaftar bp2mi", "terdaftar di bp2mi", "izin bp2mi",
        "berizin bp2mi", "resmi kemnaker", "official government program", "government approved",
        "government program", "licensed by bp2mi", "didukung pemerintah", "kerjasama pemerintah",
        "resmi pemerintah", "program kemnaker", "program bp2mi", "program kp2mi", "resmi kp2mi",
        "kementerian pelindungan pekerja migran", "kementerian ketenagakerjaan",
    ],
    "referral": [
        "ajak teman", "bawa teman", "referensi teman", "refer a friend", "referral bonus",
        "bonus referral", "ajak saudara", "saya sudah kerja di sini", "i work here",
        "bonus ajak", "bring a friend", "bonus bawa teman",
    ],
    "data_request": [
        "kirim foto ktp", "kirim ktp", "foto ktp", "kirim foto paspor", "kirim paspor",
        "scan paspor", "kirim data diri", "isi form google", "google form", "isi formulir online",
        "send passport copy", "send a copy of your passport", "send your id", "passport photo",
        "foto full body", "foto seluruh badan", "full body photo", "kirim foto badan",
        "foto paspor", "copy of your passport",
        "recent photographs", "two recent photographs", "include photos", "kirim foto terbaru", "full length photo",
        "foto terbaru", "sertakan foto",
    ],
    "no_requirements": [
        "tanpa pengalaman", "tidak perlu pengalaman", "tidak butuh pengalaman", "tanpa skill",
        "tanpa keahlian", "tanpa ijazah", "tidak perlu ijazah", "usia bebas", "lulusan apa saja",
        "semua lulusan", "pendidikan bebas", "no experience", "no experience needed",
        "no experience required", "no skills", "no skill", "no degree", "any age", "all ages",
        "without experience", "pengalaman tidak diutamakan", "tidak harus berpengalaman",
        "tidak perlu skill", "usia tidak masalah", "umur bebas", "pendidikan tidak diutamakan",
        "tidak perlu berpengalaman", "nol pengalaman", "no qualifications",
        "belum berpengalaman boleh", "tidak wajib pengalaman",
        "no prior experience", "tanpa sertifikat", "tidak perlu sertifikat",
        "pengalaman tidak disyaratkan", "experience not required", "pengalaman tidak wajib",
    ],
    "fast": [
        "proses cepat", "proses kilat", "berangkat langsung", "langsung berangkat",
        "berangkat segera", "segera berangkat", "minggu ini berangkat", "berangkat minggu ini",
        "berangkat minggu depan", "hari beres", "cepat berangkat", "fast process",
        "quick process", "fly next week", "immediate departure", "depart immediately",
        "depart this week", "leave this week", "tanpa antri", "tanpa antre",
        "tanpa menunggu lama", "fly this week", "proses 1 minggu", "proses 2 minggu",
        "proses seminggu", "berangkat cepat",
    ],
    "scarcity": [
        "slot terbatas", "kuota terbatas", "tempat terbatas", "hari ini terakhir", "siapa cepat",
        "buruan", "limited slots", "limited slot", "last batch", "apply today", "limited seats",
        "slot cuma", "slot hanya", "sisa slot", "batch terakhir", "kuota hampir penuh",
        "limited places",
        "within 48 hours", "dalam 24 jam", "dalam 2x24 jam", "sebelum tanggal", "dianggap mengundurkan diri", "closes tonight", "only valid", "hanya berlaku", "mohon diselesaikan sebelum", "to keep your offer",
    ],
    "instant_accept": [
        "langsung diterima", "langsung kerja", "pasti diterima", "dijamin diterima", "tanpa tes",
        "tanpa test", "tanpa interview", "tanpa wawancara", "no interview", "guaranteed hired",
        "guaranteed job", "guaranteed placement", "100 diterima", "pasti lolos",
        "dijamin dapat pekerjaan", "dijamin kerja", "dijamin langsung kerja", "pasti berangkat", "dijamin berangkat",
    ],
    "minor": [
        "lulusan smp", "tamatan smp", "lulus smp", "pelajar smp", "pelajar sma", "siswa sma",
        "siswa smp", "anak sekolah", "libur sekolah", "masih sekolah", "students welcome",
        "under 18", "di bawah umur", "dibawah umur", "belum 18", "usia 15", "usia 16",
        "usia 17", "umur 15", "umur 16", "umur 17", "age 16", "age 17", "16 years old",
        "17 years old", "minimal 16", "minimal 17", "min 16", "min 17",
    ],
    "appearance": [
        "good looking", "berpenampilan menarik", "penampilan menarik", "cantik",
        "tinggi badan minimal", "tinggi minimal", "attractive", "body proporsional",
        "kulit putih", "tampil menarik", "good appearance", "pretty", "langsing",
        "well groomed",
    ],
    "female": ["wanita", "perempuan", "female", "cewek", "women", "girls", "ladies", "gadis", "young women", "wanita muda", "cewek"],
    "crisis": [
        "korban phk", "kena phk", "yang kena phk", "terkena phk", "pengangguran",
        "lost your job", "laid off", "warga bangka", "khusus warga", "eks tambang",
        "penambang timah", "tambang timah", "susah cari kerja",
    ],
    "consent_bypass": [
        "tidak perlu izin suami", "tidak perlu izin orang tua", "tanpa izin suami",
        "tanpa izin orang tua", "tanpa izin keluarga", "tidak perlu izin keluarga",
        "no parental consent", "without parental consent", "no need for parental",
        "tidak perlu persetujuan", "tidak usah izin", "tanpa persetujuan keluarga",
    ],
    "passport_retention": [
        "paspor dipegang", "paspor ditahan", "paspor disimpan perusahaan", "serahkan paspor asli",
        "paspor diserahkan", "passport kept", "company keeps passport",
        "company keeps your passport", "passport held", "passport will be held",
        "hand over your passport", "surrender passport", "paspor disimpan kantor",
        "paspor dititipkan",
        "documents are held", "identity documents are held", "held in hr custody", "hr custody", "documents held", "paspor disimpan hr",
    ],
    "threat": [
        "denda jika tidak capai target", "denda kalau tidak capai target", "didenda",
        "dijual ke perusahaan lain", "dipindah ke perusahaan lain", "fined if",
        "sold to another company", "denda jika target", "denda bila tidak",
    ],
    "wage_withholding": [
        "gaji ditahan", "gaji pertama ditahan", "gaji dibayar setelah", "gaji 3 bulan pertama",
        "salary held", "first salary withheld", "salary withheld", "wages withheld",
        "salary paid after", "gaji ditahan sebagai jaminan", "gaji bulan pertama ditahan",
    ],
    "restricted_movement": [
        "tinggal di area kantor", "tidak boleh keluar", "dilarang keluar", "handphone dikumpulkan",
        "handphone disita", "live on compound", "live in the compound", "phones collected",
        "phone collected", "no going out", "tinggal di dalam kompleks", "tidak boleh pulang",
        "stay inside the compound",
        "self contained", "residential campus", "live inside", "tidak boleh keluar area",
    ],
    "hours": ["jam", "hour", "hours", "hrs"],
    "abroad_cue": ["luar negeri", "overseas", "abroad"],
    "licence_pending": ["izin menyusul", "no izin menyusul", "izin dalam proses",
                        "dalam proses perpanjangan", "licence pending", "license pending",
                        "izin sedang diproses", "izin sedang diurus"],
    "migrant_cue": ["paspor", "passport", "tenaga kerja indonesia", "tenaga kerja wanita",
                    "pekerja migran indonesia", "calon pekerja migran indonesia", "work abroad",
                    "kerja di luar negeri"],
    "bundle": ["take care of everything", "semua ditanggung", "all expenses paid",
               "semua biaya ditanggung", "terima beres", "just bring yourself",
               "tinggal berangkat"],
    "long_days": ["7 hari seminggu", "7 days a week", "tanpa libur", "no day off",
                  "tidak ada libur", "tidak ada hari libur", "kerja setiap hari"],
    "secrecy": [
        "jangan cerita", "jangan bilang ke keluarga", "jangan kasih tahu", "rahasiakan",
        "berangkat pisah", "berangkat terpisah", "pisah dengan agen", "keep this confidential",
        "keep it confidential", "keep it secret", "keep this opportunity confidential",
        "travel separately", "do not tell", "dont tell", "tidak usah bilang",
        "jangan beritahu", "jangan kasih tau", "keep confidential",
        "kalau ada razia", "jika ada razia", "sembunyi", "hide during raids", "hindari razia",
        "kapal yang beda", "kapal berbeda", "pesawat berbeda", "berangkat sendiri sendiri",
    ],
    "coded_work": [
        "bisnis online nanti dijelaskan", "nanti dijelaskan", "dijelaskan setelah", "kerja itu",
        "online business", "details later", "details will be explained", "explained later",
        "pekerjaan rahasia", "job details after", "nanti dijelasin",
    ],
    "p3mi_claim": ["p3mi", "sip3mi", "siup3mi", "perusahaan penempatan", "pjtki", "p3mi resmi",
                   "licensed recruitment agency", "licensed agency"],
    "official_portal": ["siskop2mi", "karirhub", "sisko p2mi", "kp2mi go id", "bp2mi go id",
                        "g to g", "government to government", "eps topik", "program g to g"],
    "procedural": [
        "perjanjian kerja ditandatangani di indonesia", "kontrak ditandatangani di indonesia",
        "tanda tangan kontrak di indonesia", "orientasi pra pemberangkatan", "opp",
        "bpjs ketenagakerjaan", "bpjs", "ltsa", "disnaker", "dinas tenaga kerja",
        "tanpa biaya penempatan", "bebas biaya penempatan", "tidak dipungut biaya",
        "zero cost", "no placement fee", "no recruitment fee", "free of charge", "lpk", "blk",
        "contract signed in indonesia", "sertifikat kompetensi", "perjanjian penempatan",
        "perjanjian kerja", "tidak ada biaya", "tanpa dipungut biaya", "no fees",
        "bebas biaya", "zero placement fee",
    ],
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Per-ad context
# --------------------------------------------------------------------------------------------

_NEGATABLE = frozenset(
    {
        "debt", "fee_demand", "personal_account", "passport_retention", "wage_withholding",
        "restricted_movement", "visa_on_site", "contract_abroad", "secrecy", "penalty",
        "family_money", "immigration_coaching", "falsification", "commission", "scarcity",
        "fast", "instant_accept", "data_request", "chinese_employer", "indonesian_required",
        "minor", "appearance", "irregular_crossing", "pickup", "gov_claim", "referral",
        "coded_work", "vague_job", "vague_income", "threat", "benefit_free", "individual", "bundle",
        "passport_arranged", "pocket_money", "salary_deferred",
    }
)  # fmt: skip
_HOURS_CTX_RE = re.compile(r"\b(kerja|work|shift|sehari|per hari|hari|a day|per day|daily)\b")


def _reads_as_warning(an: Analysis, private: bool, official_ref: bool) -> bool:
    """The whole text reads as a warning: positive flags are suppressed everywhere.

    A scam post nearly always gives a number, a handle or a link (``private``); warnings, news
    and testimonies that quote scam phrases usually give none, or an official one.
    """
    n_warn_sent = an.n_warning_sentences
    n_warn_cues = len(an.by_key.get("warning_cue", ()))
    if not n_warn_sent and n_warn_cues < 2:
        return False  # every test below needs a warning sentence or two warning words
    raw = an.by_key
    solicit = bool(raw.get("solicit")) or bool(raw.get("private_channel"))
    return (
        (n_warn_sent >= 1 and not private and not solicit)
        or (n_warn_cues >= 2 and not private)
        or (n_warn_cues >= 3 and n_warn_sent >= 2)
        or (n_warn_sent >= 2 and official_ref and not solicit)
    )


_VISIT_VISAS = ("tourist", "visit", "ziarah", "umrah", "visa_free", "voa")
#: the hits of a key without any (shared: :meth:`Ctx.hits` lists are read only)
_NO_HITS: list = []


class Ctx:
    """Per-ad view the rules read: hits by key (warnings and negation already applied) and
    views of the extracted fields, computed once and shared by the rules."""

    __slots__ = ("an", "ex", "nt", "raw", "span", "warned", "contacts", "official_urls",
                 "doc_warning", "dests", "_jobs", "fees", "visit_visas", "overseas", "_ok")  # fmt: skip

    def __init__(self, an: Analysis) -> None:
        self.an = an
        ex = self.ex = an.extraction
        self.nt = an.nt
        raw = self.raw = an.by_key
        #: maps a span of the normalised text to its span in the original
        self.span = an.nt.span
        self.warned = an.n_warning_sentences > 0
        # (most fields are empty in most ads: the tests for emptiness skip the comprehensions)
        #: phone numbers (not official ones), WhatsApp links and Telegram handles
        phones = ex.phones
        contacts = [p for p in phones if not p.attrs.get("official")] if phones else []
        official_phone = len(contacts) < len(phones)  # the phones left out are official
        if ex.whatsapp:
            contacts += [w for w in ex.whatsapp if w.attrs.get("link")]
        contacts += ex.telegram
        self.contacts: list[Item] = contacts
        self.official_urls = [u for u in ex.urls if u.attrs.get("official")] if ex.urls else []
        official_ref = bool(self.official_urls) or official_phone
        warning = self.doc_warning = _reads_as_warning(an, bool(contacts), official_ref)
        # the field views below are empty when the whole text is a warning
        self.dests: list[Item] = [] if warning else ex.destinations
        self._jobs: dict[str, list[Item]] = {}
        if not warning:
            for j in ex.job_types:
                self._jobs.setdefault(j.value, []).append(j)
        #: fees the worker pays (not negated, not in a warning sentence)
        self.fees: list[Item] = (
            [
                f
                for f in ex.fees
                if f.attrs["payer"] == "worker"
                and not f.attrs["negated"]
                and not f.attrs["warning"]
            ]
            if ex.fees and not warning
            else []
        )
        #: tourist, visit, pilgrimage or visa-free entry
        self.visit_visas = self.visas(*_VISIT_VISAS) if ex.visas else []
        #: is this about work abroad at all? (UU 18/2017 and most of §6 are about migration)
        self.overseas = bool(
            self.dests
            or ex.transits
            or ex.visas
            or raw.get("abroad_cue")
            or raw.get("migrant_cue")
            or any(p.attrs.get("region") not in ("ID", "") for p in ex.phones)
            or any(
                m.attrs.get("currency") != "IDR" and m.attrs.get("kind") == "salary"
                for m in ex.money
            )
        )
        # hits outside warnings and (for negatable keys) not negated, computed per key when a
        # rule first asks
        self._ok: dict[str, list] = {}

    def hits(self, key: str) -> list:
        """Hits of ``key`` outside warnings and (for negatable keys) not negated (read only:
        this may be the analysis's own list)."""
        got = self._ok.get(key)
        if got is None:
            got = _NO_HITS if self.doc_warning else self.raw.get(key, _NO_HITS)
            if got:
                an = self.an
                if self.warned:
                    got = [h for h in got if not an.in_warning(h.start)]
                if key in _NEGATABLE:
                    got = [h for h in got if not an.negated(h.i, 4)]
            self._ok[key] = got
        return got

    def ev_hits(self, *keys: str) -> list[Span]:
        """Evidence: the original spans of the hits of ``keys`` (mapped in C, no comprehension;
        usually there are none)."""
        hits = (
            self.hits(keys[0]) if len(keys) == 1 else [*chain.from_iterable(map(self.hits, keys))]
        )
        return list(map(self.span, map(_HIT_START, hits), map(_HIT_END, hits))) if hits else []

    def text_pos(self, item: Item) -> int:
        """Position in the normalised text of an item found in the original (for sentences)."""
        fm = self.nt.fold_map
        if fm is None:
            return item.start
        # the first segment of the map that ends after the item starts (segments are non-empty
        # and in order, so their ends increase)
        k = bisect_right(fm.src_end, item.start)
        if k == len(fm.src_end):
            return len(self.nt.text)
        off = max(0, item.start - fm.src_start[k]) if fm.linear[k] else 0
        return fm.tpos[k] + off

    def together(self, a: int, b: int) -> bool:
        """Are positions ``a`` and ``b`` of the normalised text in the same sentence?

        True when no sentence ends (``SENTENCE_END_RE``) after the first and at or before the
        second. Looking between the two is much cheaper than splitting the text.
        """
        if a > b:
            a, b = b, a
        end = SENTENCE_END_RE.search(self.nt.text, a, b + 1)
        return end is None or end.end() > b

    def same_sentence(self, key_a: str, key_b: str) -> list[Span]:
        """Evidence where a hit of ``key_a`` and one of ``key_b`` share a sentence (the last
        such hit of ``key_b``)."""
        span = self.span
        b_hits = self.hits(key_b)
        out = []
        for h in self.hits(key_a):
            partner = None
            for g in b_hits:
                if self.together(h.start, g.start):
                    partner = g
            if partner is not None:
                out += [span(h.start, h.end), span(partner.start, partner.end)]
        return out

    def jobs(self, *cats: str) -> list[Item]:
        """Job items of these categories, in text order."""
        if len(cats) == 1:
            return self._jobs.get(cats[0], [])
        if self.doc_warning:
            return []
        return [j for j in self.ex.job_types if j.value in cats]

    def visas(self, *types: str, negated_: bool = False) -> list[Item]:
        if self.doc_warning:
            return []
        return [
            v
            for v in self.ex.visas
            if v.value in types
            and bool(v.attrs.get("negated")) == negated_
            and not v.attrs.get("warning")
        ]

    def travel_logistics(self) -> bool:
        return bool(
            self.ex.destinations
            or self.ex.transits
            or self.ex.visas
            or self.raw.get("benefit_ticket")
            or self.raw.get("pickup")
        )


def _spans(items: list[Item]) -> list[Span]:
    return list(map(_ITEM_SPAN, items))


_ITEM_SPAN = attrgetter("start", "end")
#: a PhraseHit's start and end (fields 3 and 4: a plain tuple index)
_HIT_START, _HIT_END = itemgetter(3), itemgetter(4)


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


def _a1(c: Ctx) -> list[Span]:
    has_scam_role = bool(c.jobs("scam_role"))
    return [
        (d.start, d.end)
        for d in c.dests
        if d.attrs["country"] in SCAM_HUB_COUNTRIES
        or d.attrs.get("hub")
        or (d.attrs["country"] == "PH" and has_scam_role)
    ]


def _a2(c: Ctx) -> list[Span]:
    return [(d.start, d.end) for d in c.dests if d.attrs["country"] in NON_PLACEMENT]


def _a3(c: Ctx) -> list[Span]:
    pick = c.hits("pickup")
    if not pick:
        return []
    dests = c.dests
    countries = {d.attrs["country"] for d in dests}
    bait = [d for d in dests if d.attrs["country"] in BAIT_COUNTRIES or d.attrs.get("border")]
    if bait or len(countries) >= 2:
        return c.ev_hits("pickup") + _spans(bait or dests)
    return []


def _a4(c: Ctx) -> list[Span]:
    dests = c.dests
    me = [d for d in dests if d.attrs["country"] in ME_MORATORIUM]
    if not me:
        return []
    jobs = c.jobs("domestic", "care")
    if not jobs:
        return []
    if all(d.attrs["country"] in ME_MORATORIUM for d in dests):
        return _spans(jobs + me)
    # a list of vacancies: the household job and the Middle East place must go together
    me_pos = [c.text_pos(d) for d in me]
    pairs = []
    for j in jobs:
        pos = c.text_pos(j)
        if any(c.together(pos, p) for p in me_pos):
            pairs.append(j)
    return _spans(pairs + me) if pairs else []


def _a5(c: Ctx) -> list[Span]:
    if c.doc_warning:
        return []
    ev = c.ev_hits("irregular_crossing")
    cues = c.hits("crossing_cue")
    to_near = any(d.attrs["country"] in ("MY", "SG") for d in c.dests)
    informal = [t for t in c.ex.transits if t.attrs.get("informal")]
    # an informal port alone is also an industrial area (Tanjung Uncang has shipyards)
    if informal and (cues or to_near or c.hits("pickup")):
        ev += _spans(informal) + c.ev_hits("crossing_cue")
    elif c.ex.transits and cues and to_near:
        ev += _spans(c.ex.transits) + c.ev_hits("crossing_cue")
    return ev


def _a6(c: Ctx) -> list[Span]:
    ev = c.ev_hits("vague_destination")
    dests = c.dests
    t = c.nt.original
    for d1, d2 in zip(dests, dests[1:], strict=False):
        if 0 <= d2.start - d1.end <= 14 and d1.attrs["country"] != d2.attrs["country"]:
            between = t[d1.end : d2.start].lower()
            if " atau " in between or " or " in between or "/" in between:
                ev += _spans([d1, d2])
    return ev


def _a7(c: Ctx) -> list[Span]:
    return [] if c.doc_warning else _spans(c.ex.transits)


_VOLUME_COUNTRIES = frozenset({"MY", "SA", "TW", "HK", "KR", "JP"})


def _a8(c: Ctx) -> list[Span]:
    return [(d.start, d.end) for d in c.dests if d.attrs["country"] in _VOLUME_COUNTRIES]


def _abroad(c: Ctx) -> bool:
    return bool(c.dests) or bool(c.raw.get("abroad_cue"))


def _b1(c: Ctx) -> list[Span]:
    return _spans(c.jobs("scam_role"))


def _b2(c: Ctx) -> list[Span]:
    return c.ev_hits("indonesian_required") if _abroad(c) else []


def _b3(c: Ctx) -> list[Span]:
    return c.ev_hits("vague_job")


def _b4(c: Ctx) -> list[Span]:
    return c.ev_hits("chinese_employer")


def _b5(c: Ctx) -> list[Span]:
    jobs = c.jobs("fishing_crew")
    if jobs and (c.hits("fishing_rush") or not c.ex.companies):
        return _spans(jobs) + c.ev_hits("fishing_rush")
    return []


def _b6(c: Ctx) -> list[Span]:
    jobs = c.jobs("internship")
    if jobs and (c.ex.money or c.fees):
        return _spans(jobs)
    return []


def _b7(c: Ctx) -> list[Span]:
    return _spans(c.jobs("entertainment"))


def _c1(c: Ctx) -> list[Span]:
    if c.doc_warning:
        return []
    sal = [
        m
        for m in c.ex.money
        if m.attrs.get("kind") == "salary" and (m.attrs.get("idr_month") or 0) >= 10_000_000
    ]
    if not sal:
        return []
    low_skill = bool(c.jobs("scam_role") or c.hits("no_requirements") or c.hits("vague_job"))
    skilled = c.jobs("healthcare", "care", "factory", "construction", "fishing_crew", "internship")
    if low_skill or (not skilled and not c.ex.job_types):
        return _spans(sal)
    if any((m.attrs.get("idr_month") or 0) >= 30_000_000 for m in sal) and not skilled:
        return _spans(sal)
    return []


def _c2(c: Ctx) -> list[Span]:
    words = c.an.tokens.words
    # "Saudi Commission for Health Specialties" is an institution, not a pay scheme
    hits = [h for h in c.hits("commission") if not (h.j < len(words) and words[h.j] == "for")]
    return [c.span(h.start, h.end) for h in hits]


def _c3(c: Ctx) -> list[Span]:
    if any(m.attrs.get("kind") == "salary" for m in c.ex.money):
        return []
    return c.ev_hits("vague_income")


def _c4(c: Ctx) -> list[Span]:
    return c.ev_hits("salary_deferred")


def _d1(c: Ctx) -> list[Span]:
    ev = _spans(c.fees)
    ev += c.ev_hits("fee_demand")
    if not c.doc_warning:
        for m in c.ex.money:
            if m.attrs.get("kind") == "fee" and not any(
                f.start <= m.start < f.end for f in c.ex.fees
            ):
                pos = m.start
                if any(
                    f.attrs.get("negated") or f.attrs.get("payer") in ("none", "employer")
                    for f in c.ex.fees
                    if abs(f.start - pos) < 40
                ):
                    continue
                ev.append((m.start, m.end))
    return ev


def _d2(c: Ctx) -> list[Span]:
    if c.doc_warning:
        return []
    ev = _spans([b for b in c.ex.bank_accounts if b.attrs.get("personal")])
    ev += _spans(c.ex.ewallets)
    ev += c.ev_hits("personal_account")
    return ev


def _d3(c: Ctx) -> list[Span]:
    return c.ev_hits("debt")


_BENEFITS = ("benefit_ticket", "benefit_visa", "benefit_housing", "benefit_food",
             "benefit_transport", "pocket_money")  # fmt: skip


def _d4(c: Ctx) -> list[Span]:
    if c.hits("bundle"):
        return c.ev_hits("bundle")
    kinds = [k for k in _BENEFITS if k in c.raw]
    if len(kinds) >= 3:  # (the hits kept are some of these: fewer kinds cannot make three)
        kinds = [k for k in kinds if c.hits(k)]
    # the kinds first: "free" is negatable, so the dearer test
    if len(kinds) >= 3 and c.hits("benefit_free"):
        return c.ev_hits(*kinds)
    return []


def _d5(c: Ctx) -> list[Span]:
    return c.same_sentence("penalty", "quit")


def _d6(c: Ctx) -> list[Span]:
    return c.ev_hits("family_money") + c.same_sentence("pocket_money", "holding_house")


def _e1(c: Ctx) -> list[Span]:
    return _spans(c.visit_visas) + c.ev_hits("visa_on_site")


def _e2(c: Ctx) -> list[Span]:
    return c.ev_hits("minimal_docs") + _spans(c.visas("work", negated_=True))


def _e3(c: Ctx) -> list[Span]:
    return c.ev_hits("contract_abroad")


def _e4(c: Ctx) -> list[Span]:
    return c.ev_hits("immigration_coaching")


def _e5(c: Ctx) -> list[Span]:
    return c.ev_hits("falsification")


def _e6(c: Ctx) -> list[Span]:
    if c.hits("passport_arranged") and c.hits("debt"):
        return c.ev_hits("passport_arranged", "debt")
    return []


def _company_named(c: Ctx) -> bool:
    return bool(c.ex.companies)


def _f1(c: Ctx) -> list[Span]:
    if c.doc_warning:
        return []
    cues = [
        h
        for h in c.hits("individual")
        if c.an.tokens.words[h.i] not in ("bu", "pak", "kak", "mbak", "mas")
        or _near_contact(c, h.end)
    ]
    ev = [c.span(h.start, h.end) for h in cues]
    if not _company_named(c) and (c.contacts or c.hits("private_channel")):
        ev += _spans(c.contacts) + c.ev_hits("private_channel")
    return ev


def _near_contact(c: Ctx, pos: int) -> bool:
    s, _ = c.nt.span(pos, pos + 1)
    return any(0 <= p.start - s <= 40 for p in c.ex.phones + c.ex.whatsapp)


def _f2(c: Ctx) -> list[Span]:
    # the registry check (a later stage) is the real F2; in text, an ad that claims to be a
    # licensed agency while admitting the licence is "pending" already fails it
    return c.ev_hits("licence_pending")


def _f3(c: Ctx) -> list[Span]:
    claims = c.ev_hits("gov_claim")
    if not claims:
        return []
    private = c.contacts + [e for e in c.ex.emails if e.attrs.get("free_mail")]
    if private and not c.official_urls:
        return claims + _spans(private)
    return []


def _f5(c: Ctx) -> list[Span]:
    return [] if c.doc_warning else _spans([e for e in c.ex.emails if e.attrs.get("free_mail")])


_HUB_REGIONS = frozenset({"KH", "MM", "LA", "TH", "PH", "VN", "CN"})
_BORDER_TRANSITS = frozenset({"Nunukan", "Sebatik", "Entikong", "Aji Kuning", "Sungai Nyamuk",
                              "Sei Pancang"})  # fmt: skip


def _f6(c: Ctx) -> list[Span]:
    if c.doc_warning:
        return []
    border = any(t.value in _BORDER_TRANSITS for t in c.ex.transits)
    return _spans(
        [
            p
            for p in c.ex.phones
            if p.attrs.get("region") in _HUB_REGIONS or (border and p.attrs.get("region") == "MY")
        ]
    )


def _f7(c: Ctx) -> list[Span]:
    return c.ev_hits("referral")


def _g1(c: Ctx) -> list[Span]:
    if c.doc_warning:
        return []
    if not c.contacts and not c.hits("private_channel"):
        return []
    company_channel = any(not e.attrs.get("free_mail") for e in c.ex.emails) or any(
        not u.attrs.get("shortener") and not u.attrs.get("official") for u in c.ex.urls
    )
    if company_channel or c.official_urls:
        return []
    return _spans(c.contacts) + c.ev_hits("private_channel")


def _g4(c: Ctx) -> list[Span]:
    return c.ev_hits("data_request")


def _h1(c: Ctx) -> list[Span]:
    return c.ev_hits("no_requirements")


def _h2(c: Ctx) -> list[Span]:
    return c.ev_hits("fast")


def _h3(c: Ctx) -> list[Span]:
    return c.ev_hits("scarcity")


def _h4(c: Ctx) -> list[Span]:
    return c.ev_hits("instant_accept")


def _i1(c: Ctx) -> list[Span]:
    # UU 18/2017 Pasal 5: the under-18 bar is about migrant placement; a local training
    # course for 17-year-olds is not this flag
    if c.doc_warning or not c.overseas:
        return []
    ev = _spans([a for a in c.ex.ages if a.attrs.get("min") is not None and a.attrs["min"] < 18])
    return ev + c.ev_hits("minor")


def _i2(c: Ctx) -> list[Span]:
    if c.hits("appearance") and c.hits("female"):
        return c.ev_hits("appearance", "female")
    return []


def _i3(c: Ctx) -> list[Span]:
    return c.ev_hits("crisis")


def _i4(c: Ctx) -> list[Span]:
    return c.ev_hits("consent_bypass")


def _j1(c: Ctx) -> list[Span]:
    return c.ev_hits("passport_retention")


def _j2(c: Ctx) -> list[Span]:
    return c.ev_hits("threat")


def _j3(c: Ctx) -> list[Span]:
    return c.ev_hits("wage_withholding")


def _j4(c: Ctx) -> list[Span]:
    return c.ev_hits("restricted_movement")


def _j5(c: Ctx) -> list[Span]:
    ev = c.ev_hits("long_days")
    words = c.an.tokens.words
    for h in c.hits("hours"):
        i = h.i
        if i and words[i - 1].isdigit() and 11 <= int(words[i - 1]) <= 24:
            ctx = " ".join(words[max(0, i - 4) : i + 4])
            if _HOURS_CTX_RE.search(ctx):
                ev.append(c.span(c.an.tokens.starts[i - 1], h.end))
    return ev


def _k1(c: Ctx) -> list[Span]:
    return c.ev_hits("secrecy")


def _k3(c: Ctx) -> list[Span]:
    return c.ev_hits("coded_work")


def _l1(c: Ctx) -> list[Span]:
    if not c.ex.companies or c.raw.get("licence_pending"):
        return []
    licence = [
        p for p in c.ex.permits if p.attrs.get("type") in ("SIP3MI", "SIUP3MI", "NIB", "SIPP3MI")
    ]
    claim = c.ev_hits("p3mi_claim")
    if licence or claim:
        return _spans(c.ex.companies[:1] + licence) + claim
    return []


def _l2(c: Ctx) -> list[Span]:
    return _spans(
        [p for p in c.ex.permits if p.attrs.get("type") in ("SIP2MI", "JOBORDER", "DEMANDLETTER")]
    )


def _l3(c: Ctx) -> list[Span]:
    return _spans(c.official_urls) + c.ev_hits("official_portal")


def _l4(c: Ctx) -> list[Span]:
    # a "work permit arranged there" after a visa-free entry is part of the E1 story, not a
    # mitigator
    e1 = c.visit_visas or c.hits("visa_on_site")
    ev = (
        []
        if e1
        else _spans([v for v in c.ex.visas if v.value == "work" and not v.attrs.get("negated")])
    )
    # procedural claims are mitigating even when negation words are part of them
    ev += [c.span(h.start, h.end) for h in c.raw.get("procedural", ())]
    return ev


def _l5(c: Ctx) -> list[Span]:
    dests = [d for d in c.ex.destinations if d.attrs["country"] in PLACEMENT_COUNTRIES]
    if not dests:
        return []
    jobs = c.jobs("factory", "construction", "hospitality", "healthcare", "care", "agriculture")
    if jobs and not c.jobs("scam_role", "entertainment"):
        return _spans(dests[:1] + jobs[:1])
    return []


T, N, F = "tppo", "nonprocedural", "fee_fraud"

RULES: tuple[Rule, ...] = (
    Rule("A1_scam_hub_destination", "A", "H", (T, N), "Destination is an online-scam hub (Cambodia, Myanmar, Laos, known compound towns)", _a1),
    Rule("A2_non_placement_destination", "A", "H", (N,), "Destination is not an official placement country (KP2MI)", _a2),
    Rule("A3_transit_bait_route", "A", "C", (T,), "Bait route: fly to a transit country, then picked up / moved overland", _a3),
    Rule("A4_me_domestic_moratorium", "A", "C", (N, T), "Household job in a Middle East moratorium country (Kepmenaker 260/2015)", _a4),
    Rule("A5_irregular_crossing", "A", "C", (N, T), "Irregular border crossing or informal port", _a5),
    Rule("A6_vague_destination", "A", "H", (T,), "Destination withheld or offered as alternatives", _a6),
    Rule("A7_transit_point", "A", "L", (N,), "Names a known departure/transit point for irregular routes", _a7),
    Rule("A8_volume_destination", "A", "X", (), "High-volume placement destination (context only)", _a8),
    Rule("B1_scam_role", "B", "H", (T,), "Role typical of scam compounds (CS online, admin game, operator, crypto)", _b1),
    Rule("B2_indonesian_language_required", "B", "M", (T,), "Indonesian speakers wanted for a post abroad", _b2),
    Rule("B3_vague_job_description", "B", "M", (T,), "Job description vague or withheld", _b3),
    Rule("B4_chinese_employer_mandarin", "B", "M", (T,), "Mandarin bonus or Chinese boss/company", _b4),
    Rule("B5_fishing_crew_unspecified", "B", "M", (T,), "Fishing crew without vessel or manning agency details", _b5),
    Rule("B6_internship_with_pay_or_fee", "B", "M", (T, N), "Internship framing with wages or fees", _b6),
    Rule("B7_entertainment_role", "B", "H", (T,), "Entertainer / karaoke / spa role abroad", _b7),
    Rule("C1_salary_outlier", "C", "H", (T,), "Salary far above the role's norm (>= Rp10 juta/month for low-skill work)", _c1),
    Rule("C2_commission_target_pay", "C", "M", (T,), "Commission or target-driven pay", _c2),
    Rule("C3_vague_high_income", "C", "L", (T,), "Lure of big income without a figure", _c3),
    Rule("C4_salary_deferred", "C", "M", (T,), "Salary to be discussed on site", _c4),
    Rule("D1_upfront_fee", "D", "H", (N, T, F), "Up-front fee charged to the applicant", _d1),
    Rule("D2_personal_account_payment", "D", "C", (N, T, F), "Payment to a personal bank account or e-wallet", _d2),
    Rule("D3_debt_deduction", "D", "C", (T,), "Costs advanced now and deducted from salary (debt bondage)", _d3),
    Rule("D4_free_everything", "D", "M", (T,), "Everything free: ticket, visa, housing, food", _d4),
    Rule("D5_quit_penalty", "D", "C", (T,), "Penalty or repayment for quitting or withdrawing", _d5),
    Rule("D6_pocket_money_family", "D", "H", (T, N), "Pocket money in a holding house or cash for the family", _d6),
    Rule("E1_tourist_visa_for_work", "E", "C", (N, T), "Work on a tourist / visit / ziarah / visa-free entry", _e1),
    Rule("E2_minimal_documents", "E", "H", (N,), "Only a passport or ID needed; no contract or work visa", _e2),
    Rule("E3_contract_abroad", "E", "H", (T,), "Contract signed abroad or in a foreign language", _e3),
    Rule("E4_immigration_coaching", "E", "C", (N, T), "Coaching to deceive immigration", _e4),
    Rule("E5_document_falsification", "E", "C", (T, N), "Age or document falsification offered", _e5),
    Rule("E6_passport_deducted", "E", "H", (T,), "Passport arranged by recruiter, cost deducted later", _e6),
    Rule("F1_individual_recruiter", "F", "H", (N, F), "Individual recruiter or no licensed company named", _f1),
    Rule("F2_licence_pending", "F", "H", (N, T), "Claims a placement licence but says it is pending", _f2),
    Rule("F3_government_endorsement_claim", "F", "H", (N,), "Claims government endorsement but uses a personal contact", _f3),
    Rule("F5_free_mail_contact", "F", "M", (N,), "Free-mail address instead of a company domain", _f5),
    Rule("F6_foreign_hub_phone", "F", "M", (T,), "Phone number from a scam-hub country", _f6),
    Rule("F7_referral_recruiting", "F", "M", (T,), "Referral bonus / peer recruiting", _f7),
    Rule("G1_messaging_only_contact", "G", "M", (N, T, F), "Contact only via WhatsApp/Telegram/DM", _g1),
    Rule("G4_personal_data_request", "G", "M", (T,), "Asks for ID/passport photos or personal data up front", _g4),
    Rule("H1_no_requirements", "H", "M", (T,), "No experience, skills or education needed", _h1),
    Rule("H2_fast_departure", "H", "M", (T, N), "Fast process or immediate departure", _h2),
    Rule("H3_scarcity_pressure", "H", "L", (T,), "Scarcity or deadline pressure", _h3),
    Rule("H4_instant_acceptance", "H", "M", (T,), "No interview or guaranteed acceptance", _h4),
    Rule("I1_minor_targeted", "I", "C", (T, N), "Minors or under-18s targeted", _i1),
    Rule("I2_women_appearance", "I", "M", (T,), "Women with appearance requirements", _i2),
    Rule("I3_crisis_targeting", "I", "L", (T,), "Targets laid-off or crisis-hit groups", _i3),
    Rule("I4_consent_bypass", "I", "H", (N, T), "Family or spouse consent not needed", _i4),
    Rule("J1_passport_retention", "J", "C", (T,), "Employer keeps the passport", _j1),
    Rule("J2_threat_fine", "J", "C", (T,), "Threats, fines or being sold on", _j2),
    Rule("J3_wage_withholding", "J", "H", (T,), "Wages withheld", _j3),
    Rule("J4_restricted_movement", "J", "H", (T,), "Movement or phone use restricted", _j4),
    Rule("J5_excessive_hours", "J", "M", (T,), "Excessive working hours or no day off", _j5),
    Rule("K1_secrecy", "K", "C", (T, N), "Told to keep it secret or travel separately", _k1),
    Rule("K3_coded_work", "K", "M", (T,), "Coded wording for the real work", _k3),
    Rule("L1_licensed_p3mi_claimed", "L", "-", (N, T), "Names a P3MI company with a licence", _l1),
    Rule("L2_job_order_number", "L", "-", (N, T), "Gives a SIP2MI / job-order number", _l2),
    Rule("L3_official_portal", "L", "-", (N, T), "Points to an official portal or programme", _l3),
    Rule("L4_procedural_language", "L", "-", (N, T), "Procedural language: work visa, contract in Indonesia, no placement fee, LPK/BLK", _l4),
    Rule("L5_placement_country_formal_job", "L", "-", (N, T), "Formal job in an official placement country", _l5),
)  # fmt: skip

RULES_BY_ID = {r.id: r for r in RULES}

#: What each rule reads (lexicon keys, "@field" for extracted fields, "@job:category" for job
#: items of a category outside a warning text). A rule whose inputs are all absent cannot fire,
#: so it is not called: most ads touch few of the 59 rules.
RULE_NEEDS: dict[str, tuple[str, ...]] = {
    "A1_scam_hub_destination": ("@destinations",),
    "A2_non_placement_destination": ("@destinations",),
    "A3_transit_bait_route": ("pickup",),
    "A4_me_domestic_moratorium": ("@job:domestic", "@job:care"),
    "A5_irregular_crossing": ("irregular_crossing", "@transits"),
    "A6_vague_destination": ("vague_destination", "@destinations"),
    "A7_transit_point": ("@transits",),
    "A8_volume_destination": ("@destinations",),
    "B1_scam_role": ("@job:scam_role",),
    "B2_indonesian_language_required": ("indonesian_required",),
    "B3_vague_job_description": ("vague_job",),
    "B4_chinese_employer_mandarin": ("chinese_employer",),
    "B5_fishing_crew_unspecified": ("@job:fishing_crew",),
    "B6_internship_with_pay_or_fee": ("@job:internship",),
    "B7_entertainment_role": ("@job:entertainment",),
    "C1_salary_outlier": ("@money",),
    "C2_commission_target_pay": ("commission",),
    "C3_vague_high_income": ("vague_income",),
    "C4_salary_deferred": ("salary_deferred",),
    "D1_upfront_fee": ("@fees", "fee_demand", "@money"),
    "D2_personal_account_payment": ("@bank_accounts", "@ewallets", "personal_account"),
    "D3_debt_deduction": ("debt",),
    "D4_free_everything": ("benefit_free",),
    "D5_quit_penalty": ("penalty",),
    "D6_pocket_money_family": ("family_money", "pocket_money"),
    "E1_tourist_visa_for_work": ("@visas", "visa_on_site"),
    "E2_minimal_documents": ("minimal_docs", "@visas"),
    "E3_contract_abroad": ("contract_abroad",),
    "E4_immigration_coaching": ("immigration_coaching",),
    "E5_document_falsification": ("falsification",),
    "E6_passport_deducted": ("passport_arranged",),
    "F1_individual_recruiter": ("individual", "private_channel", "@phones", "@whatsapp",
                                "@telegram"),
    "F2_licence_pending": ("licence_pending",),
    "F3_government_endorsement_claim": ("gov_claim",),
    "F5_free_mail_contact": ("@emails",),
    "F6_foreign_hub_phone": ("@phones",),
    "F7_referral_recruiting": ("referral",),
    "G1_messaging_only_contact": ("private_channel", "@phones", "@whatsapp", "@telegram"),
    "G4_personal_data_request": ("data_request",),
    "H1_no_requirements": ("no_requirements",),
    "H2_fast_departure": ("fast",),
    "H3_scarcity_pressure": ("scarcity",),
    "H4_instant_acceptance": ("instant_accept",),
    "I1_minor_targeted": ("@ages", "minor"),
    "I2_women_appearance": ("appearance",),
    "I3_crisis_targeting": ("crisis",),
    "I4_consent_bypass": ("consent_bypass",),
    "J1_passport_retention": ("passport_retention",),
    "J2_threat_fine": ("threat",),
    "J3_wage_withholding": ("wage_withholding",),
    "J4_restricted_movement": ("restricted_movement",),
    "J5_excessive_hours": ("long_days", "hours"),
    "K1_secrecy": ("secrecy",),
    "K3_coded_work": ("coded_work",),
    "L1_licensed_p3mi_claimed": ("@permits", "p3mi_claim"),  # and a company named
    "L2_job_order_number": ("@permits",),
    "L3_official_portal": ("@urls", "official_portal"),
    "L4_procedural_language": ("@visas", "procedural"),
    "L5_placement_country_formal_job": ("@job:factory", "@job:construction", "@job:hospitality",
                                        "@job:healthcare", "@job:care", "@job:agriculture"),
}  # fmt: skip


def _code(rule_id: str) -> str:
    """Taxonomy code of a rule id: ``"A1"`` for ``"A1_scam_hub_destination"``."""
    return rule_id.split("_", 1)[0]


#: a rule without declared inputs is always called
_ALWAYS = "*"

#: per rule: its taxonomy code and its flags' attributes, the evidence aside (in field order)
_RULE_PLAN = tuple(
    (
        r,
        _code(r.id),
        {
            "id": r.id,
            "family": r.family,
            "severity": r.severity,
            "feeds": r.feeds,
            "evidence": (),
            "description": r.description,
            "mitigating": r.mitigating,
        },
    )
    for r in RULES
)


def _readers() -> dict[str, tuple[int, ...]]:
    """Per input of :data:`RULE_NEEDS`: the positions in :data:`RULES` of the rules reading it."""
    out: dict[str, list[int]] = {}
    for i, r in enumerate(RULES):
        for need in RULE_NEEDS.get(r.id, (_ALWAYS,)):
            out.setdefault(need, []).append(i)
    return {need: tuple(rules) for need, rules in out.items()}


_READERS = _readers()
_FIELD_KEYS = tuple("@" + name for name in FIELD_NAMES)
_field_values = attrgetter(*FIELD_NAMES)

PATTERNS = (
    "P1_scam_compound",
    "P2_nonprocedural_placement",
    "P3_debt_bondage",
    "P4_middle_east_domestic",
    "P5_malaysia_backdoor",
    "P6_underage",
    "P7_fee_fraud",
)
PATTERN_BONUS = {
    "P1_scam_compound": (30, ("tppo",)),
    "P2_nonprocedural_placement": (25, ("nonprocedural",)),
    "P3_debt_bondage": (20, ("tppo",)),
    "P4_middle_east_domestic": (30, ("tppo", "nonprocedural")),
    "P5_malaysia_backdoor": (25, ("nonprocedural",)),
    "P6_underage": (30, ("tppo",)),
    "P7_fee_fraud": (30, ("fee_fraud",)),
}
#: P3's setting: a destination or document flag that counts (A8 is context only)
_DEBT_SETTING = frozenset(_code(r.id) for r in RULES if r.id[0] in "AE" and r.severity != "X")


def _patterns(codes: set[str], travel: bool) -> list[str]:
    """Combination patterns over the taxonomy codes of the flags (§8.2)."""

    # (``none(...)``: no flag of these codes; a bound C method, cheaper than a helper)
    none = codes.isdisjoint
    out = []
    if not none(("A1", "A3", "A6")) and "B1" in codes and not none(("C1", "H1", "D4")):
        out.append("P1_scam_compound")
    if not none(("F1", "F2")) and not none(("E1", "D1", "D2", "E2")):
        out.append("P2_nonprocedural_placement")
    if not none(("D3", "D5", "D6")) and not none(_DEBT_SETTING):
        out.append("P3_debt_bondage")
    if "A4" in codes and not none(("E1", "D6", "F1")):
        out.append("P4_middle_east_domestic")
    if "A5" in codes and not none(("F1", "F6", "D1")):
        out.append("P5_malaysia_backdoor")
    if "I1" in codes and any(c[0] not in "IL" for c in codes):  # and a flag of another family
        out.append("P6_underage")
    # §8.2 says F1 + G1; a named (impersonated) company with a free-mail or WhatsApp-only
    # contact is the same fee-fraud shape, so any recruiter-channel flag counts here
    if not none(("D1", "D2")) and not none(("F1", "G1", "F5")) and not travel:
        out.append("P7_fee_fraud")
    return out


_START, _END = itemgetter(0), itemgetter(1)
#: the family of a taxonomy code ("A" for "A1")
_FAMILY = itemgetter(0)
# builds a NamedTuple without its Python-level __new__ (half the cost)
_new_tuple = tuple.__new__
_new_object = object.__new__


def _evidence(spans: list[Span], original: str) -> tuple[Evidence, ...]:
    """The first :data:`MAX_EVIDENCE` distinct non-empty spans in text order (the longest first
    where several start together), with the words they cover."""
    if len(spans) == 1:
        s, e = spans[0]
        return (_new_tuple(Evidence, (s, e, original[s:e])),) if e > s else ()
    # two stable sorts in C: by start, and the longest first among spans that start together
    ordered = sorted(sorted(set(spans), key=_END, reverse=True), key=_START)
    out = []  # (only the spans kept become Evidence)
    for s, e in ordered:
        if e > s:
            out.append(_new_tuple(Evidence, (s, e, original[s:e])))
            if len(out) == MAX_EVIDENCE:
                break
    return tuple(out)


_RULE_BY_CODE = {_code(r.id): r for r in RULES}
#: per taxonomy code: its family if its flags count towards the priority, else ""
_PRIORITY_FAMILY = {
    _code(r.id): r.family if not r.mitigating and POINTS[r.severity] >= POINTS["M"] else ""
    for r in RULES
}
_CRITICAL = frozenset(_code(r.id) for r in RULES if r.severity == "C")


@cache
def _family_points(codes: tuple[str, ...]) -> tuple[int, tuple[tuple[str, int, bool], ...]]:
    """What the flags of one family (their taxonomy codes, sorted) add up to: the mitigation
    they claim, and per score they feed, the family's points (its strongest flag plus up to 10
    points for the others, capped) and whether that strongest flag is critical.

    Families are small (at most 8 rules), so the combinations are few: each is computed once
    per process.
    """
    rules = [_RULE_BY_CODE[c] for c in codes]
    mitigation = sum(MITIGATION.get(r.id, 0) for r in rules if r.mitigating)
    points = []
    for s in SCORES:
        pts = [POINTS[r.severity] for r in rules if not r.mitigating and s in r.feeds]
        pts = [p for p in pts if p]
        if pts:
            top = max(pts)
            capped = min(FAMILY_CAP, top + min(10, sum(pts) - top))
            points.append((s, capped, top >= POINTS["C"]))
    return mitigation, tuple(points)


def _score(codes: set[str], patterns: list[str], travel: bool) -> dict[str, int]:
    """§8: family-capped points per score, mitigation on the non-critical part, pattern bonuses.

    ``codes``: the taxonomy codes of the flags (``"A1"``).
    """
    mitigation = 0
    fixed = dict.fromkeys(SCORES, 0)  # points mitigation cannot lower
    other = dict.fromkeys(SCORES, 0)
    # the codes of each family together (sorted, the family is the code's first letter)
    for _, family_codes in groupby(sorted(codes), _FAMILY):
        mitigates, points = _family_points(tuple(family_codes))
        mitigation += mitigates
        for s, capped, critical in points:
            if critical:
                fixed[s] += capped  # mitigators never cancel a critical flag's family
            else:
                other[s] += capped
    for p in patterns:
        bonus, feeds = PATTERN_BONUS[p]
        for s in feeds:
            fixed[s] += bonus
    # fee fraud needs a fee demanded (D1) or paid to a person (D2)
    fee_flag = "D1" in codes or "D2" in codes
    scores: dict[str, int] = {}
    for s in SCORES:
        total = fixed[s] + (other[s] - mitigation if other[s] > mitigation else 0)
        if s == "fee_fraud" and not fee_flag:
            total = 0
        if s == "fee_fraud" and travel and "P7_fee_fraud" not in patterns:
            total //= 2  # with travel logistics the fee is part of a placement, scored above
        scores[s] = total if total < 100 else 100
    return scores


def _priority(scores: dict[str, int], codes: set[str]) -> int:
    top = max(scores.values())
    if top >= 20:
        families = {_PRIORITY_FAMILY[c] for c in codes}
        families.discard("")
        top += 5 * min(4, len(families))
    if not codes.isdisjoint(_CRITICAL):
        top = max(top, 45)  # any critical flag forces at least "Tinjau" (§8.3)
    return int(min(100, top))


def band_for(priority: int) -> str:
    for threshold, name in BANDS:
        if priority >= threshold:
            return name
    return BANDS[-1][1]


def _assess(text: str) -> Assessment:
    return _assess_analysis(analyse(text))


def _assess_analysis(an: Analysis) -> Assessment:
    ctx = Ctx(an)
    ex = an.extraction
    original = an.nt.original
    present = chain(
        ctx.raw,
        compress(_FIELD_KEYS, _field_values(ex)),
        map("@job:".__add__, ctx._jobs),
        (_ALWAYS,),
    )
    # only the rules reading an input present, in their order (looked up in C, no Python loop)
    chosen = set(chain.from_iterable(map(_READERS.get, present, repeat(()))))
    flags: list[Flag] = []
    codes: set[str] = set()  # taxonomy codes of the flags
    for i in sorted(chosen):
        rule, code, attrs = _RULE_PLAN[i]
        spans = rule.func(ctx)
        if spans:
            evidence = _evidence(spans, original)
            if evidence:
                # the Flag filled in one step: the frozen dataclass's __init__ sets each field
                # through object.__setattr__, which costs three times as much
                flag = _new_object(Flag)
                fields = flag.__dict__
                fields.update(attrs)
                fields["evidence"] = evidence
                flags.append(flag)
                codes.add(code)
    travel = ctx.travel_logistics()
    patterns = _patterns(codes, travel)
    scores = _score(codes, patterns, travel)
    if not ctx.overseas:
        # a job at home: not a migrant placement, and the §6 trafficking signals are about
        # recruitment abroad; fee fraud is scored as it is
        scores["nonprocedural"] = 0
        scores["tppo"] //= 2
    priority = _priority(scores, codes)
    return Assessment(
        flags=flags,
        patterns=patterns,
        scores=scores,
        priority=priority,
        band=band_for(priority),
        language=ex.language,
        fields=ex,
    )


def assess(text: str) -> Assessment:
    """Flags, patterns, scores and band for one ad. Pure; never raises on any ``str``.

    >>> a = assess("Loker CS online di Phnom Penh, gaji 15jt, tanpa pengalaman. WA 0812-3456-7890")
    >>> a.band, "P1_scam_compound" in a.patterns
    ('Prioritas tinggi', True)
    """
    try:
        return _assess(text if isinstance(text, str) else str(text))
    except Exception:  # noqa: BLE001 - the contract is "never raises"; an empty result is safe
        return Assessment([], [], dict.fromkeys(SCORES, 0), 0, band_for(0), "mixed", Extraction())


def feature_names() -> list[str]:
    """Stable feature order: rules, patterns, the three scores, priority, n_families."""
    return (
        [r.id for r in RULES]
        + list(PATTERNS)
        + ["score_tppo", "score_nonprocedural", "score_fee_fraud", "priority", "n_families"]
    )


#: position of each rule and pattern in :func:`feature_vector`
_FEATURE_INDEX = {name: i for i, name in enumerate([*(r.id for r in RULES), *PATTERNS])}


def feature_vector(a: Assessment) -> list[float]:
    """Values in [0, 1] in :func:`feature_names` order (flags 0/1, scores and priority / 100)."""
    on = [0.0] * len(_FEATURE_INDEX)  # set where a flag or pattern is present
    for name in [f.id for f in a.flags] + a.patterns:
        i = _FEATURE_INDEX.get(name)
        if i is not None:
            on[i] = 1.0
    n_fam = len({f.family for f in a.flags if not f.mitigating and f.points > 0})
    return on + [a.scores.get(s, 0) / 100 for s in SCORES] + [a.priority / 100, n_fam / 12]
