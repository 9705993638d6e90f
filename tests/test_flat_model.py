"""The flat model scores exactly as the scikit-learn model it was made from.

``FlatModel`` computes the word TF-IDF block, the red-flag block and the metadata block
itself, the decision values and calibrated probabilities, and ranks all contributions of a
chunk at once for the explanations. All must stay equal to the bit to
``ColumnTransformer.transform``, ``predict_proba`` and the per-row explanation, on the seed
corpus, the demo ads, sources with metadata and hostile text, and after a round trip through
``flat.json``; a model it cannot express takes the scikit-learn path.
"""

from __future__ import annotations

import copy
import gc
import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.ad import Ad
from pipeline.datasets import load_labelled
from pipeline.features import ads_to_frame
from pipeline.featurize import (
    _TOKEN,
    _shape,
    _shape_matrix,
    ads_to_columns,
    normalise_text,
    word_ngrams,
    word_runs,
)
from pipeline.flat_model import MIN_CONTRIBUTION, FlatModel, Rows, _lexsort, round_4
from pipeline.model import (
    base_pipeline,
    build_baseline,
    explain_rows,
    feature_names,
    fit_model,
    flat_model,
    transform_and_score,
)
from pipeline.paths import DEMO_SITE_DIR, SEED_DIR
from pipeline.redflags import assess
from pipeline.registry import load
from pipeline.scoring import FLAG_KEYS, _interchange_flags, score_file

HOSTILE = [
    "",
    " ",
    "\x00" * 10,
    "😀" * 500,
    "Ｇａｊｉ １５ｊｔ ＷＡ ０８１２３４５６７８９",
    "a" * 20_000,
    "<b>gaji</b> 15jt/bln &amp; tiket PP &#65;&#66;c&eacute;Def " * 50,
    "\ud800 bad surrogate wa 0812 3456 7890 \udfff",
    "CS online Kamboja g4j1 1OJT, tnp pglmn, visa turis, hub t.me/cs_x wa.me/628123456789",
    "aBcDe fGh KELVIN \u212a x\u212ay İstanbul ǅemal ⅫⅣ ² ½ ٣ café_bar a_b _ __ x\x1fy\u2028w",
    "teamWe areGood aB cD eFg hIJ aAaAa #URL_ab12#Xy #PHONE_ff00#now&amp;teamWe pay",
    "teamWe😀aBc–dEf xYz Ⓐbc 𝐁𝐄𝐊𝐀𝐒𝐈 𝟎𝟐 ☀️ ✈ 🇮🇩 \u27bf\u27c0\u25ff",
    "x " * 3000 + "gaji tinggi " * 100,
]


@pytest.fixture(scope="module")
def model():
    try:
        return load("champion")[0]
    except Exception:  # noqa: BLE001 - no shipped model in this checkout
        pytest.skip("no shipped champion model under models/")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    if not any(SEED_DIR.glob("*.jsonl")):
        pytest.skip("seed corpus (data/seed) not present")
    return [ad.text for ad in load_labelled(SEED_DIR).ads] + HOSTILE


def demo_ads() -> list[Ad]:
    """The demo job board's ads, with their title, company, location and salary fields."""
    ads = []
    for line in (DEMO_SITE_DIR / "ads.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        ads.append(
            Ad(
                text=r["body"],
                title=r.get("title"),
                company=r.get("company"),
                location=r.get("location"),
                salary=r.get("salary_text"),
            )
        )
    return ads


def metadata_ads() -> list[Ad]:
    """Ads with EMSCAD-style metadata in every form ads_to_frame accepts."""
    values = [None, "", "0", "1", 1, 0.0, True, False, "yes", "t", "no", "maybe", 2]
    contacts = [None, "", "  ", "WA 0812-3456-7890", "t.me/agen", "hr@pt.co.id", "www.x.com"]
    ads = []
    for i, value in enumerate(values * 2):
        ads.append(
            Ad(
                text=HOSTILE[i % len(HOSTILE)] + " Gaji 15jt WhatsApp",
                title=[None, "", "Admin"][i % 3],
                company=[None, "", " ", "PT Maju"][i % 4],
                salary=[None, "Rp 5 jt"][i % 2],
                contact=contacts[i % len(contacts)],
                extra={
                    "has_company_logo": value,
                    "has_questions": values[-1 - i % len(values)],
                    "company_profile": [None, "", "We build"][i % 3],
                    "requirements": ["", None, "BSc"][i % 3],
                    "benefits": [None, " ", "BPJS"][i % 3],
                },
            )
        )
    return ads


def frames(texts: list[str]) -> list[pd.DataFrame]:
    ads = [Ad(text=t) for t in texts] + demo_ads() + metadata_ads()
    out = [ads_to_frame(ads[i : i + 200]) for i in range(0, len(ads), 200)]
    # Text that Ad would have cleaned (a lone surrogate, NULs) straight into a frame.
    raw = ads_to_frame([Ad(text="x")] * len(HOSTILE))
    raw["text"] = HOSTILE
    return [*out, raw]


def assert_same_matrix(fast: Rows, slow) -> None:
    assert fast.n_columns == slow.shape[1] and fast.data.dtype == slow.dtype
    for part in ("indptr", "indices", "data"):
        a, b = getattr(fast, part), getattr(slow, part)
        assert a.dtype == b.dtype and np.array_equal(a, b), part


def test_the_flat_model_makes_the_same_matrix_as_scikit_learn(model, texts):
    features = base_pipeline(model).named_steps["features"]
    flat = flat_model(model)
    assert flat is not None  # the shipped model can be flattened
    for frame in frames(texts):
        assert_same_matrix(flat.transform(frame), features.transform(frame))


def test_columns_without_pandas_or_with_assessments_give_the_same_matrix(model, texts):
    flat = flat_model(model)
    ads = [Ad(text=t) for t in texts] + demo_ads() + metadata_ads()
    for i in range(0, len(ads), 200):
        chunk = ads[i : i + 200]
        by_columns = flat.transform(ads_to_columns(chunk))
        by_frame = flat.transform(ads_to_frame(chunk))
        assessed = flat.transform(ads_to_columns(chunk), [assess(ad.text) for ad in chunk])
        for part in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(by_columns, part), getattr(by_frame, part)), part
            assert np.array_equal(getattr(assessed, part), getattr(by_frame, part)), part


def test_scores_equal_predict_proba_exactly(model, texts):
    for frame in frames(texts):
        _, _, probabilities = transform_and_score(model, frame)
        assert np.array_equal(probabilities, model.predict_proba(frame)[:, 1])


def test_flat_json_reads_back_to_the_same_model(model, texts):
    flat = flat_model(model)
    again = FlatModel.from_json(flat.to_json())
    assert again.to_json() == flat.to_json()
    for name in ("idf", "redflag_scale", "coef"):
        a, b = getattr(flat, name), getattr(again, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    frame = frames(texts)[0]
    X = again.transform(frame)
    assert np.array_equal(again.probabilities(again.decision(X)), model.predict_proba(frame)[:, 1])
    with pytest.raises(ValueError, match="format"):
        FlatModel.from_json(flat.to_json().replace('"format":1', '"format":99'))


def test_probabilities_where_the_calibration_overflows(model):
    flat = flat_model(model)
    a, _ = flat.calibration
    huge = np.array([1e6, -1e6, 300.0, -300.0]) * np.sign(a)  # past exp's range, both ways
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    expected = calibrator.predict(huge)
    assert expected[0] == 0.0 and expected[1] == 1.0
    assert np.allclose(flat.probabilities(huge), expected, rtol=1e-15, atol=1e-300)


def reference_explanations(model, X, top_terms=8, top_features=6):
    """The per-row explanation explain_rows computed before it was vectorised."""
    coef = base_pipeline(model).named_steps["clf"].coef_.ravel()
    names = feature_names(model)
    short = [str(n).split("__", 1)[-1] for n in names]
    is_term = np.array([str(n).startswith(("words__", "chars__")) for n in names])
    if isinstance(X, Rows):
        X = scipy.sparse.csr_matrix(
            (X.data, X.indices, X.indptr), (len(X.indptr) - 1, X.n_columns)
        )
    contributions = scipy.sparse.csr_matrix(X).multiply(coef).tocsr()
    contributions.eliminate_zeros()
    indptr, indices, data = contributions.indptr, contributions.indices, contributions.data
    out = []
    for i in range(contributions.shape[0]):
        idx, values = indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]]
        keep = np.abs(values) >= MIN_CONTRIBUTION
        idx, values = idx[keep], values[keep]
        entry = {}
        for key, mask, top in (
            ("terms", is_term[idx], top_terms),
            ("features", ~is_term[idx], top_features),
        ):
            sel_idx, sel_val = idx[mask], values[mask]
            order = np.argsort(-np.abs(sel_val), kind="stable")[:top]
            entry[key] = [[short[sel_idx[j]], round(float(sel_val[j]), 4)] for j in order]
        out.append(entry)
    return out


def test_explanations_equal_the_per_row_ranking(model, texts):
    for frame in frames(texts):
        X, _, _ = transform_and_score(model, frame)
        assert explain_rows(model, X) == reference_explanations(model, X)
        assert explain_rows(model, X, 3, 2) == reference_explanations(model, X, 3, 2)


def test_tied_contributions_keep_column_order(model):
    coef = base_pipeline(model).named_steps["clf"].coef_.ravel()
    is_term = flat_model(model).is_term
    values, counts = np.unique(coef[is_term], return_counts=True)
    usable = (counts >= 3) & (np.abs(values) >= 0.05)
    assert usable.any()
    tied = np.flatnonzero(is_term & (coef == values[usable][0]))
    X = scipy.sparse.lil_matrix((3, len(coef)))
    X[0, tied] = 0.5  # a row of ties only
    X[1, tied[::-1]] = 0.5
    X[1, [0, 1, len(coef) - 1]] = [0.9, 0.01, 0.3]  # ties among other entries
    X = X.tocsr()  # the last row is empty
    X.sort_indices()
    assert explain_rows(model, X) == reference_explanations(model, X)
    assert explain_rows(model, X)[2] == {"terms": [], "features": []}
    assert explain_rows(model, Rows.of(X)) == reference_explanations(model, X)  # flat path


def test_rounding_all_at_once_gives_what_round_gives():
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(0, scale, 50_000) for scale in (0.01, 1, 1000)])
    halves = (rng.integers(-(10**7), 10**7, 50_000) + 0.5) / 1e4  # near ties, both sides
    near = [halves, np.nextafter(halves, np.inf), np.nextafter(halves, -np.inf)]
    special = np.array([0.0, -0.0, 2.675, 1.00005, -0.00005, 1e300, 5e-324, np.inf, -np.inf])
    for sample in (values, *near, special):
        got, want = round_4(sample), [round(float(v), 4) for v in sample]
        assert got == want
        assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in want]


def test_two_stable_sorts_are_a_stable_lexsort():
    rng = np.random.default_rng(7)
    minor = rng.choice([-0.5, -0.25, -0.125, -0.0625], 5000)  # many ties
    major = rng.integers(0, 40, 5000)
    assert np.array_equal(_lexsort(minor, major), np.lexsort((minor, major)))
    huge = major * 2**50  # keys that do not fit in 63 bits: np.lexsort itself
    assert np.array_equal(_lexsort(minor, huge), np.lexsort((minor, huge)))
    assert len(_lexsort(minor[:0], major[:0])) == 0


def test_unknown_feature_unions_take_the_scikit_learn_path(texts):
    frame = ads_to_frame([Ad(text=t) for t in texts])
    y = np.array([i % 2 for i in range(len(frame))])
    groups = [str(i) for i in range(len(frame))]
    chars = fit_model(frame, y, groups, params={"chars": True, "calibration_folds": 2})
    assert flat_model(chars) is None
    _, _, probabilities = transform_and_score(chars, frame)
    assert np.array_equal(probabilities, chars.predict_proba(frame)[:, 1])
    X, _, _ = transform_and_score(chars, frame)
    assert explain_rows(chars, X) == reference_explanations(chars, X)

    assert flat_model(build_baseline().fit(frame["text"], y)) is None
    words = ColumnTransformer([("words", TfidfVectorizer(ngram_range=(1, 2)), "text")])
    assert flat_model(words.fit(frame)) is None


def test_word_runs_give_the_tokens_of_the_normalised_text(texts):
    analyzer = TfidfVectorizer(preprocessor=normalise_text, ngram_range=(1, 2)).build_analyzer()
    for text in texts:
        tokens = _TOKEN.findall(normalise_text(text))
        assert [w for w in word_runs(text) if len(w) > 1] == tokens
        assert word_ngrams(text) == analyzer(text)


def test_shape_cues_counted_at_once_equal_the_per_text_ones(texts):
    every_code_point = "".join(map(chr, range(0x110000)))
    blocks = [every_code_point[i : i + 4096] for i in range(0, len(every_code_point), 4096)]
    for sample in (texts, blocks, ["", "A!", "", "😀", ""], []):
        expected = np.array([_shape(t) for t in sample], dtype=float).reshape(len(sample), 4)
        assert np.array_equal(_shape_matrix(sample), expected)


def test_red_flags_of_rules_changed_since_training_are_read_by_name(model, texts):
    """A model trained before a rule was renamed, added or dropped: the flat model reads the
    trained columns by name, as RedFlagFeatures.transform does."""
    older = copy.deepcopy(model)
    features = base_pipeline(older).named_steps["features"]
    redflags = features.named_transformers_["redflags"]
    redflags.feature_names_ = [*redflags.feature_names_[:0:-1], "rf_Z9_retired_rule"]
    redflags.scale_ = redflags.scale_[::-1].copy()
    frame = frames(texts)[0]
    assert_same_matrix(flat_model(older).transform(frame), features.transform(frame))


def test_interchange_flags_are_the_contract_keys_of_the_flag_dicts(texts):
    for text in texts:
        assessment = assess(text)
        full = [f.to_dict() for f in assessment.top_flags(len(assessment.flags))]
        assert _interchange_flags(assessment) == [{k: f[k] for k in FLAG_KEYS} for f in full]


def test_score_file_leaves_the_garbage_collector_as_it_found_it(model, tmp_path):
    source = tmp_path / "ads.jsonl"
    source.write_text(json.dumps({"id": "a", "text": HOSTILE[8]}) + "\n", encoding="utf-8")
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    score_file(source, tmp_path / "out.jsonl", model="champion", jobs=1)
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == frozen


def test_the_model_frame_keeps_its_types_and_absent_fields_stay_none():
    records = [
        {"text": "Gaji 15jt", "id": None, "title": 5, "has_company_logo": "yes", "zz": [1]},
        {"text": "Kerja", "company": "", "telecommuting": 1, "benefits": ""},
    ]
    ads = [Ad.from_record(r) for r in records]
    assert ads[0].title == "5" and ads[0].company is None and ads[0].id.startswith("ad-")
    assert ads[0].extra == {"has_company_logo": "yes", "zz": [1]}
    assert ads[1].company is None and ads[1].extra == {"telecommuting": 1, "benefits": ""}
    for chunk in (ads, []):
        frame = ads_to_frame(chunk)
        assert [str(t) for t in frame.dtypes[-3:]] == ["float64"] * 3
    frame = ads_to_frame(ads)
    assert frame["has_company_logo"].tolist()[0] == 1.0
    assert np.isnan(frame["has_questions"]).all()
    assert frame["benefits"].isna().tolist() == [True, False]
