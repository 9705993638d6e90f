"""The scoring fast path gives exactly what the plain scikit-learn path gives.

``transform_and_score`` computes the word TF-IDF block, the red-flag block and the metadata
block itself for the models ``build_features`` makes (without character n-grams), and
``explain_rows`` ranks all contributions of a chunk at once. Both must stay equal to the bit
to ``ColumnTransformer.transform`` and to the per-row explanation, on the seed corpus, the
demo ads, sources with metadata and hostile text; any other model takes the plain path.
"""

from __future__ import annotations

import copy
import gc
import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.ad import Ad
from pipeline.datasets import load_labelled
from pipeline.features import (
    _TOKEN,
    _shape,
    _shape_matrix,
    ads_to_frame,
    normalise_text,
    redflag_block,
    word_ngrams,
    word_runs,
)
from pipeline.model import (
    MIN_CONTRIBUTION,
    _fast_transform,
    _lexsort,
    _tables,
    base_pipeline,
    explain_rows,
    feature_names,
    fit_model,
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


def assert_same_matrix(fast, slow) -> None:
    assert type(fast) is type(slow)
    assert fast.shape == slow.shape and fast.dtype == slow.dtype
    for part in ("indptr", "indices", "data"):
        a, b = getattr(fast, part), getattr(slow, part)
        assert a.dtype == b.dtype and np.array_equal(a, b), part


def test_the_fast_path_makes_the_same_matrix_as_scikit_learn(model, texts):
    features = base_pipeline(model).named_steps["features"]
    assert _tables(features).branches is not None  # the shipped model takes the fast path
    for frame in frames(texts):
        fast = _fast_transform(features, frame)
        assert fast is not None
        assert_same_matrix(fast, features.transform(frame))


def test_scores_equal_predict_proba_exactly(model, texts):
    for frame in frames(texts):
        _, _, probabilities = transform_and_score(model, frame)
        assert np.array_equal(probabilities, model.predict_proba(frame)[:, 1])


def reference_explanations(model, X, top_terms=8, top_features=6):
    """The per-row explanation explain_rows computed before it was vectorised."""
    coef = base_pipeline(model).named_steps["clf"].coef_.ravel()
    names = feature_names(model)
    short = [str(n).split("__", 1)[-1] for n in names]
    is_term = np.array([str(n).startswith(("words__", "chars__")) for n in names])
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
    is_term = _tables(base_pipeline(model).named_steps["features"]).is_term
    values, counts = np.unique(coef[is_term], return_counts=True)
    usable = (counts >= 3) & (np.abs(values) >= 0.05)
    assert usable.any()
    tied = np.flatnonzero(is_term & (coef == values[usable][0]))
    X = scipy.sparse.lil_matrix((3, len(coef)))
    X[0, tied] = 0.5  # a row of ties only
    X[1, tied[::-1]] = 0.5
    X[1, [0, 1, len(coef) - 1]] = [0.9, 0.01, 0.3]  # ties among other entries
    X = X.tocsr()  # the last row is empty
    assert explain_rows(model, X) == reference_explanations(model, X)
    assert explain_rows(model, X)[2] == {"terms": [], "features": []}


def test_one_sort_of_distinct_keys_is_a_stable_lexsort():
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
    assert _tables(base_pipeline(chars).named_steps["features"]).branches is None
    _, _, probabilities = transform_and_score(chars, frame)
    assert np.array_equal(probabilities, chars.predict_proba(frame)[:, 1])
    X, _, _ = transform_and_score(chars, frame)
    assert explain_rows(chars, X) == reference_explanations(chars, X)

    baseline = ColumnTransformer([("words", TfidfVectorizer(ngram_range=(1, 2)), "text")])
    baseline.fit(frame)
    assert _fast_transform(baseline, frame) is None


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


def test_red_flag_block_without_the_cache_and_with_changed_rules(model, texts):
    redflags = base_pipeline(model).named_steps["features"].named_transformers_["redflags"]
    assert np.array_equal(redflag_block(redflags, texts), redflags.transform(texts))
    renamed = copy.deepcopy(redflags)
    renamed.feature_names_ = renamed.feature_names_[::-1]
    renamed.scale_ = renamed.scale_[::-1]
    assert np.array_equal(redflag_block(renamed, texts), renamed.transform(texts))


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
