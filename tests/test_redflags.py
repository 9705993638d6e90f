"""Red-flag rules: each rule fires on its positive example and not on its negatives."""

from __future__ import annotations

import json

import pytest

from pipeline.redflags import (
    PATTERNS,
    RULES,
    RULES_VERSION,
    Assessment,
    Evidence,
    Flag,
    assess,
    feature_names,
    feature_vector,
)

EX1 = (
    "LOKER LN!! Dibutuhkan CS online & admin, lokasi Thailand (dijemput tim dari Bangkok). "
    "Gaji 1.200 USD + bonus. Tanpa pengalaman, wajib bisa bahasa Indonesia, bisa Mandarin nilai "
    "plus. Tiket, visa, mess, makan ditanggung, nanti potong gaji. Berangkat minggu ini, slot "
    "terbatas. Minat japri WA 0812-3456-7890."
)
EX2 = (
    "Dicari ART untuk majikan di Riyadh, gaji 5 juta, uang saku 2 juta selama di penampungan, "
    "berangkat pakai visa ziarah, proses cepat 2 minggu. Tidak perlu izin suami. "
    "Hub. Bu N (WA 0813-1111-2222)."
)
EX3 = (
    "Hiring Indonesian speakers for online customer support in Sihanoukville. USD 1000-1500/month "
    "+ commission. No experience, free flight & accommodation. Come on visa-free entry, company "
    "arranges work permit. Contact HR on Telegram @hr_asia_jobs. Keep this opportunity "
    "confidential."
)
EX4 = (
    "PT Maju Sejahtera Abadi membuka lowongan caregiver Jepang (SSW). Syarat usia 19-35, "
    "sertifikat JLPT N4, pelatihan di LPK. Visa kerja, perjanjian kerja ditandatangani di "
    "Indonesia, OPP, BPJS. Tanpa biaya penempatan. Info: siskop2mi.bp2mi.go.id / kantor BP3MI."
)
WARNING = (
    "WASPADA PENIPUAN! Modus lowongan kerja ke Kamboja: gaji 15 juta, tanpa pengalaman, "
    "berangkat pakai visa turis. Jangan tergiur. Cek di siskop2mi.bp2mi.go.id"
)


def ids(text: str) -> set[str]:
    return {f.id for f in assess(text).flags}


# --- worked examples (redflags.md §9) --------------------------------------------------------


def test_example_1_scam_compound_is_top_priority():
    a = assess(EX1)
    assert a.band == "Prioritas tinggi"
    assert {"P1_scam_compound", "P3_debt_bondage"} <= set(a.patterns)
    assert "P2_nonprocedural_placement" not in a.patterns
    assert {"A3_transit_bait_route", "B1_scam_role", "C1_salary_outlier", "D3_debt_deduction"} <= {
        f.id for f in a.flags
    }
    assert a.scores["tppo"] == 100


def test_example_2_middle_east_domestic():
    a = assess(EX2)
    assert {"P4_middle_east_domestic", "P2_nonprocedural_placement"} <= set(a.patterns)
    assert {"A4_me_domestic_moratorium", "E1_tourist_visa_for_work", "I4_consent_bypass"} <= {
        f.id for f in a.flags
    }
    assert a.band == "Prioritas tinggi"
    assert a.scores["nonprocedural"] >= 70


def test_example_3_english_telegram():
    a = assess(EX3)
    assert a.language == "en"
    want = {"A1_scam_hub_destination", "B1_scam_role", "B2_indonesian_language_required",
            "C1_salary_outlier", "C2_commission_target_pay", "E1_tourist_visa_for_work",
            "G1_messaging_only_contact", "H1_no_requirements", "K1_secrecy"}  # fmt: skip
    assert want <= {f.id for f in a.flags}
    assert a.band == "Prioritas tinggi"


def test_example_4_legit_is_low_and_mitigators_are_unverified_claims():
    a = assess(EX4)
    assert a.band == "Rendah"
    mit = [f for f in a.flags if f.mitigating]
    assert {"L3_official_portal", "L4_procedural_language"} <= {f.id for f in mit}
    assert all(f.to_dict()["status"] == "claimed, unverified" for f in mit)
    assert not any(f.id.startswith("D1") for f in a.flags)  # "tanpa biaya penempatan"


def test_official_warning_quoting_scam_phrases_does_not_fire():
    a = assess(WARNING)
    assert not [f for f in a.flags if not f.mitigating]
    assert a.band == "Rendah"
    assert a.fields.warned_places and not a.fields.destinations


# --- API contract ----------------------------------------------------------------------------


def test_flag_to_dict_contract():
    a = assess(EX1)
    for f in a.top_flags():
        d = f.to_dict()
        assert {
            "id",
            "family",
            "severity",
            "evidence",
            "spans",
            "description",
            "mitigating",
        } <= set(d)
        s, e = d["spans"][0]
        assert EX1[s:e] == d["evidence"] == f.evidence[0].text
    json.dumps(a.to_dict())


def test_top_flags_are_strongest_first():
    top = assess(EX1).top_flags(3)
    assert [f.severity for f in top][:1] == ["C"]
    assert len(top) == 3


def test_rule_objects_are_well_formed():
    assert RULES_VERSION
    seen = set()
    for r in RULES:
        assert r.id not in seen
        seen.add(r.id)
        assert r.id[0] == r.family and r.id[1].isdigit()
        assert r.severity in {"C", "H", "M", "L", "X", "-"}
        assert set(r.feeds) <= {"tppo", "nonprocedural", "fee_fraud"}
        assert callable(r.func) and r.description
        assert (r.family == "L") == (r.severity == "-")


def test_feature_vector_matches_names_and_is_bounded():
    names = feature_names()
    assert names[-5:] == ["score_tppo", "score_nonprocedural", "score_fee_fraud", "priority",
                          "n_families"]  # fmt: skip
    assert len(names) == len(RULES) + len(PATTERNS) + 5
    for text in (EX1, EX4, "", "halo"):
        v = feature_vector(assess(text))
        assert len(v) == len(names)
        assert all(0.0 <= x <= 1.0 for x in v)


def test_assess_never_raises_and_returns_assessment():
    for text in ("", " ", "\x00", "\ud800 abc", "🔥" * 50, "<" * 1000):
        a = assess(text)
        assert isinstance(a, Assessment)
        assert a.band in {"Prioritas tinggi", "Tinjau", "Pantau", "Rendah"}


def test_evidence_and_flag_are_frozen():
    e = Evidence(0, 1, "x")
    f = Flag("A1_scam_hub_destination", "A", "H", ("tppo",), (e,), "d")
    with pytest.raises(AttributeError):
        f.id = "x"  # type: ignore[misc]


# --- every rule: positive, negative and (where it applies) negated/warning examples -----------

# rule id -> (texts that must fire it, texts that must not)
RULE_CASES: dict[str, tuple[list[str], list[str]]] = {
    "A1_scam_hub_destination": (
        ["Lowongan admin di Phnom Penh", "Job in Myawaddy, Myanmar", "Kerja di KEK Golden Triangle"],
        ["Lowongan admin di Jakarta", "WASPADA penipuan kerja ke Kamboja! Jangan tergiur.",
         "Bukan ke Kamboja ya, penempatan Jepang"],
    ),
    "A2_non_placement_destination": (
        ["Kerja di Kamboja gaji 10 juta", "Office in Myanmar"],
        ["Kerja di Jepang", "Hati-hati modus kerja ke Myanmar, laporkan ke KP2MI"],
    ),
    "A3_transit_bait_route": (
        ["Terbang ke Bangkok, nanti dijemput tim ke kantor",
         "Fly to Thailand, our driver picks you up for a land transfer"],
        ["Terbang ke Bangkok untuk liburan", "Kerja di Jepang, dijemput di bandara Narita"],
    ),
    "A4_me_domestic_moratorium": (
        ["Dicari ART untuk majikan di Riyadh", "Housemaid for a family in Kuwait"],
        ["Perawat rumah sakit di Riyadh", "ART untuk keluarga di Jakarta"],
    ),
    "A5_irregular_crossing": (
        ["Lewat jalur tikus ke Malaysia", "Kumpul di Tanjung Uncang malam ini",
         "Nyebrang dari Nunukan naik speed ke Tawau, Malaysia"],
        ["Berangkat dari Soekarno-Hatta ke Malaysia dengan pesawat",
         "Waspada jalur tikus! Banyak korban TPPO."],
    ),
    "A6_vague_destination": (
        ["Negara tujuan menyusul, gaji besar", "Bisa Thailand atau Kamboja tergantung slot"],
        ["Penempatan Taiwan, kontrak 3 tahun"],
    ),
    "A7_transit_point": (["Kumpul di Batam hari Senin"], ["Kumpul di Bandung hari Senin"]),
    "A8_volume_destination": (["Kerja di Taiwan"], ["Kerja di Kamboja"]),
    "B1_scam_role": (
        ["Dibutuhkan CS online", "Hiring online customer service", "Lowongan admin game"],
        ["Dibutuhkan tukang las", "biaya admin 200 ribu"],
    ),
    "B2_indonesian_language_required": (
        ["Kerja di Kamboja, wajib bisa bahasa Indonesia", "Indonesian speakers wanted in Cambodia"],
        ["Wajib bisa bahasa Indonesia, penempatan Surabaya"],
    ),
    "B3_vague_job_description": (["Kerja ringan, detail via japri"], ["Tugas: mengelas pipa baja"]),
    "B4_chinese_employer_mandarin": (
        ["Bisa Mandarin gaji lebih", "Chinese company in Laos"],
        ["Bisa bahasa Inggris", "Tidak perlu bahasa Mandarin"],
    ),
    "B5_fishing_crew_unspecified": (
        ["ABK kapal ikan, langsung naik"],
        ["Tukang masak restoran"],
    ),
    "B6_internship_with_pay_or_fee": (
        ["Program magang ke Jerman, gaji 15 juta"],
        ["Program magang di Bandung tanpa biaya"],
    ),
    "B7_entertainment_role": (["LC karaoke Malaysia", "Spa therapist in Dubai"], ["Kasir toko"]),
    "C1_salary_outlier": (
        ["CS online gaji 15 juta tanpa pengalaman", "Online customer service USD 1,200/month"],
        ["CS online gaji 4 juta", "Perawat di Jepang gaji 25 juta"],
    ),
    "C2_commission_target_pay": (["Gaji + komisi per closing"], ["Gaji tetap 5 juta"]),
    "C3_vague_high_income": (["Gaji besar, kerja santai"], ["Gaji besar 20 juta"]),
    "C4_salary_deferred": (["Gaji dibicarakan di lokasi"], ["Gaji 5 juta per bulan"]),
    "D1_upfront_fee": (
        ["Biaya pendaftaran 500 rb", "Processing fee USD 300 before departure",
         "biaya medical & visa ditanggung pelamar"],
        ["Tanpa biaya pendaftaran", "Tidak dipungut biaya apapun",
         "Biaya visa ditanggung perusahaan", "Bebas biaya penempatan"],
    ),
    "D2_personal_account_payment": (
        ["Transfer ke BCA 1234567890 a.n. Budi Santoso", "Bayar via DANA 0812-1111-2222",
         "kirim ke rekening pribadi saya"],
        ["Transfer ke BCA 1234567890 a.n. PT Maju Jaya", "Dana talangan dari kantor"],
    ),
    "D3_debt_deduction": (
        ["Tiket ditalangi, nanti potong gaji", "Ticket deducted from salary"],
        ["Tanpa potong gaji", "Gaji dibayar penuh"],
    ),
    "D4_free_everything": (
        ["Tiket, visa, mess, makan gratis", "Free flight, visa and accommodation"],
        ["Mess gratis", "Tiket dan visa bayar sendiri"],
    ),
    "D5_quit_penalty": (
        ["Jika mundur wajib ganti biaya 20 juta", "Penalty if you resign before 6 months"],
        ["Bisa resign kapan saja tanpa denda", "Denda parkir"],
    ),
    "D6_pocket_money_family": (
        ["Uang saku 2 juta selama di penampungan", "Keluarga dapat uang sebelum berangkat"],
        ["Uang saku untuk magang di Bandung"],
    ),
    "E1_tourist_visa_for_work": (
        ["Berangkat pakai visa turis", "Come on visa-free entry", "Paspor biasa, visa diurus disana"],
        ["Berangkat dengan visa kerja, bukan visa turis",
         "WASPADA: jangan mau kerja pakai visa turis! Laporkan ke KP2MI.",
         "Visa kerja resmi"],
    ),
    "E2_minimal_documents": (
        ["Modal paspor saja", "Tidak perlu visa kerja", "Only passport needed"],
        ["Syarat: paspor, visa kerja, sertifikat kompetensi"],
    ),
    "E3_contract_abroad": (
        ["Kontrak ditandatangani di lokasi", "Sign contract on arrival"],
        ["Kontrak ditandatangani di Indonesia"],
    ),
    "E4_immigration_coaching": (
        ["Kalau ditanya petugas bilang liburan", "Tell immigration you are a tourist"],
        ["Jujur kepada petugas imigrasi"],
    ),
    "E5_document_falsification": (
        ["Umur kurang bisa diurus", "Age is not a problem, we fix documents"],
        ["Usia minimal 18 tahun sesuai KTP"],
    ),
    "E6_passport_deducted": (
        ["Paspor dibuatkan, nanti potong gaji"],
        ["Paspor dibuat sendiri", "Paspor dibuatkan kantor gratis tanpa potong gaji"],
    ),
    "F1_individual_recruiter": (
        ["Info loker LN dari saya langsung, WA 0812-3456-7890", "Hubungi agen kami"],
        ["PT Maju Jaya membuka lowongan, email hr@majujaya.co.id"],
    ),
    "F2_licence_pending": (
        ["PT Putra Bahari (perusahaan penempatan resmi, no. izin menyusul)"],
        ["PT Putra Bahari (P3MI) SIP3MI No. 12/2024"],
    ),
    "F3_government_endorsement_claim": (
        ["Program resmi BP2MI, daftar WA 0812-3456-7890"],
        ["Program resmi BP2MI, info di siskop2mi.bp2mi.go.id"],
    ),
    "F5_free_mail_contact": (["Kirim CV ke loker.ln@gmail.com"], ["Kirim CV ke hr@majujaya.co.id"]),
    "F6_foreign_hub_phone": (["Hubungi HR +855 12 345 678"], ["Hubungi HR 0812-3456-7890"]),
    "F7_referral_recruiting": (["Ajak teman dapat bonus"], ["Kerja bersama tim"]),
    "G1_messaging_only_contact": (
        ["Minat WA 0812-3456-7890", "Telegram @hr_asia_jobs"],
        ["Email hr@majujaya.co.id atau WA 0812-3456-7890", "Kirim lamaran ke kantor"],
    ),
    "G4_personal_data_request": (
        ["Kirim foto KTP dan paspor dulu", "Send a copy of your passport to reserve"],
        ["Bawa KTP saat wawancara"],
    ),
    "H1_no_requirements": (
        ["Tanpa pengalaman", "No experience needed", "Lulusan apa saja"],
        ["Pengalaman minimal 2 tahun"],
    ),
    "H2_fast_departure": (["Proses cepat, berangkat minggu ini"], ["Proses sesuai prosedur"]),
    "H3_scarcity_pressure": (["Slot terbatas!"], ["Kuota 30 orang per tahun"]),
    "H4_instant_acceptance": (["Langsung diterima tanpa tes"], ["Ada tes dan wawancara"]),
    "I1_minor_targeted": (
        ["Kerja di Malaysia, usia 16-25 tahun", "Lulusan SMP boleh, penempatan Taiwan"],
        ["Kerja di Malaysia, usia 18-35 tahun", "Ke Jepang, tidak menerima di bawah umur",
         "Pelatihan BLK gratis untuk warga Bangka, usia 17-45"],
    ),
    "I2_women_appearance": (
        ["Wanita, berpenampilan menarik, tinggi minimal 160"],
        ["Pria atau wanita, sehat jasmani"],
    ),
    "I3_crisis_targeting": (["Khusus yang kena PHK tambang"], ["Lowongan umum"]),
    "I4_consent_bypass": (
        ["Tidak perlu izin suami", "No parental consent needed"],
        ["Wajib izin suami atau orang tua"],
    ),
    "J1_passport_retention": (
        ["Paspor dipegang perusahaan selama kontrak", "Company keeps your passport"],
        ["Paspor disimpan sendiri oleh pekerja"],
    ),
    "J2_threat_fine": (["Didenda jika tidak capai target"], ["Ada bonus jika capai target"]),
    "J3_wage_withholding": (["Gaji pertama ditahan sebagai jaminan"], ["Gaji dibayar tiap bulan"]),
    "J4_restricted_movement": (["HP dikumpulkan saat kerja"], ["Boleh pulang setiap akhir pekan"]),
    "J5_excessive_hours": (
        ["Kerja 12 jam sehari", "7 days a week, 14 hours shifts"],
        ["Kerja 8 jam sehari"],
    ),
    "K1_secrecy": (
        ["Jangan cerita ke keluarga dulu", "Keep this opportunity confidential"],
        ["Ceritakan ke keluarga sebelum berangkat"],
    ),
    "K3_coded_work": (["Bisnis online, nanti dijelaskan"], ["Tugas: input faktur"]),
    "L1_licensed_p3mi_claimed": (
        ["PT Duta Migran Sejahtera (P3MI) SIP3MI No. 123/2024"],
        ["Info dari saya langsung"],
    ),
    "L2_job_order_number": (["SIP2MI: KEP.0457/PP/2025"], ["Izin lengkap"]),
    "L3_official_portal": (["Cek di siskop2mi.bp2mi.go.id"], ["Cek di bit.ly/loker"]),
    "L4_procedural_language": (
        ["Visa kerja, perjanjian kerja ditandatangani di Indonesia", "Tanpa biaya penempatan"],
        ["Pakai visa turis dulu"],
    ),
    "L5_placement_country_formal_job": (["Operator pabrik di Taiwan"], ["CS online di Kamboja"]),
}  # fmt: skip


def test_every_rule_has_examples():
    assert set(RULE_CASES) == {r.id for r in RULES}


@pytest.mark.parametrize(
    "rule_id,text",
    [(rid, t) for rid, (pos, _) in RULE_CASES.items() for t in pos],
)
def test_rule_fires_on_positive_example(rule_id, text):
    a = assess(text)
    flag = next((f for f in a.flags if f.id == rule_id), None)
    assert flag is not None, f"{rule_id} did not fire on {text!r}: {[f.id for f in a.flags]}"
    for ev in flag.evidence:  # evidence points into the original text
        assert text[ev.start : ev.end] == ev.text and ev.text


@pytest.mark.parametrize(
    "rule_id,text",
    [(rid, t) for rid, (_, neg) in RULE_CASES.items() for t in neg],
)
def test_rule_stays_silent_on_negative_example(rule_id, text):
    assert rule_id not in ids(text)


# --- negation and warnings -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Lowongan resmi ke Jepang. Tidak dipungut biaya apapun.",
        "Bebas biaya penempatan sesuai UU 18/2017.",
        "Biaya visa dan tiket ditanggung perusahaan.",
        "Zero placement fee for workers.",
    ],
)
def test_no_fee_statements_never_fire_upfront_fee(text):
    a = assess(text)
    assert "D1_upfront_fee" not in {f.id for f in a.flags}
    assert "P7_fee_fraud" not in a.patterns


def test_official_warning_with_hotline_is_not_a_recruiter():
    text = (
        "IMBAUAN KP2MI: Waspada penipuan lowongan kerja ke Kamboja dan Myanmar. Modusnya gaji "
        "besar, tanpa pengalaman, berangkat pakai visa turis dan tiket ditalangi. Laporkan ke "
        "WhatsApp 0811-8080-141 atau cek siskop2mi.bp2mi.go.id"
    )
    a = assess(text)
    assert [f.id for f in a.flags if not f.mitigating] == []
    assert a.band == "Rendah"


def test_sentence_level_warning_inside_an_offer_keeps_the_offer():
    text = (
        "Dibutuhkan CS online di Phnom Penh, gaji 15 juta, tanpa pengalaman. WA 0812-3456-7890. "
        "Hati-hati penipuan yang mengatasnamakan kami."
    )
    a = assess(text)
    assert {"A1_scam_hub_destination", "B1_scam_role", "C1_salary_outlier"} <= {
        f.id for f in a.flags
    }


def test_mitigators_do_not_cancel_critical_flags():
    text = (
        "PT Maju Jaya (P3MI) SIP3MI No. 12/2024. Visa kerja, BPJS, pelatihan di LPK. Berangkat "
        "pakai visa turis dulu, nanti diurus di sana."
    )
    a = assess(text)
    assert "E1_tourist_visa_for_work" in {f.id for f in a.flags}
    assert a.band in ("Tinjau", "Prioritas tinggi")  # a critical flag forces at least Tinjau


def test_single_indicator_says_little():
    # Volodko et al.: one indicator alone is common in benign ads; it must not reach Tinjau
    for text in ("Tanpa pengalaman", "Mess gratis", "Kerja di Malaysia", "Slot terbatas!"):
        assert assess(text).band in ("Rendah", "Pantau"), text


def test_family_cap_limits_synonym_stuffing():
    text = (
        "Tanpa pengalaman. No experience. Tanpa ijazah. Lulusan apa saja. Usia bebas. Tanpa skill."
    )
    a = assess(text)
    assert a.scores["tppo"] <= 45


def test_fee_fraud_pattern_without_travel():
    text = (
        "Lowongan kerja admin, biaya pendaftaran 300 rb transfer ke BRI 1234567890 a.n. Siti "
        "Aminah, info dari saya langsung WA 0812-3456-7890"
    )
    a = assess(text)
    assert "P7_fee_fraud" in a.patterns
    assert a.scores["fee_fraud"] >= 70


def test_pp_ticket_is_not_phnom_penh():
    assert "A1_scam_hub_destination" not in ids("Tiket PP ditanggung, kerja di Jepang")
    assert "A1_scam_hub_destination" in ids("Lokasi kerja di PP, gaji 1000 USD")


def test_scores_are_bounded_and_band_matches_priority():
    for text in (EX1, EX2, EX3, EX4, WARNING, ""):
        a = assess(text)
        assert all(0 <= v <= 100 for v in a.scores.values())
        assert 0 <= a.priority <= 100
        expected = (
            "Prioritas tinggi" if a.priority >= 70
            else "Tinjau" if a.priority >= 45
            else "Pantau" if a.priority >= 20
            else "Rendah"
        )  # fmt: skip
        assert a.band == expected
