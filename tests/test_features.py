"""Model features: the frame, text normalisation, the red-flag and metadata transformers."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline import redflags
from pipeline.ad import Ad
from pipeline.features import MetaFeatures, RedFlagFeatures, ads_to_frame
from pipeline.featurize import FRAME_COLUMNS, normalise_text

# One-dimensional input (a list or Series of texts) is accepted on purpose: the
# ColumnTransformer hands the text column over as a Series.
ONE_D = {
    "check_fit1d": "a 1-D sequence of texts is valid input",
    "check_fit2d_predict1d": "a 1-D sequence of texts is valid input",
}


@parametrize_with_checks(
    [MetaFeatures(), RedFlagFeatures()], expected_failed_checks=lambda e: ONE_D
)
def test_transformers_follow_the_estimator_contract(estimator, check):
    check(estimator)


SCAM = "Loker CS online di Phnom Penh gaji 15jt, tanpa pengalaman, tiket ditanggung. WA 0812-3456-7890"
LEGIT = "PT Maju Jaya membuka lowongan staf akuntansi di Surabaya. Kirim CV ke hrd@majujaya.co.id"


def test_frame_has_every_column_and_reads_emscad_metadata():
    ads = [
        Ad(text=SCAM),
        Ad(
            text=LEGIT,
            company="PT Maju Jaya",
            extra={"has_company_logo": "1", "company_profile": ""},
        ),
    ]
    frame = ads_to_frame(ads)
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert np.isnan(frame.loc[0, "has_company_logo"]) and frame.loc[1, "has_company_logo"] == 1.0
    meta = MetaFeatures().fit(frame)
    values = dict(zip(meta.get_feature_names_out(), meta.transform(frame)[1], strict=True))
    assert (
        values["meta_has_company_logo"] == 1.0 and values["meta_has_company_logo_unknown"] == 0.0
    )
    assert values["meta_no_company_profile"] == 1.0  # present in the source and empty
    assert values["meta_no_company"] == 0.0
    first = dict(zip(meta.get_feature_names_out(), meta.transform(frame)[0], strict=True))
    assert (
        first["meta_has_company_logo_unknown"] == 1.0 and first["meta_no_company_profile"] == 0.0
    )


def test_normalise_text_repairs_emscad_artefacts():
    assert normalise_text("Call #PHONE_ab12cd#now") == "call  phonetoken now"
    assert normalise_text("our teamWe are &amp; more") == "our team we are & more"
    assert normalise_text("GAJI 15JT") == "gaji 15jt"


def test_red_flag_features_match_the_rules_and_are_scaled():
    transformer = RedFlagFeatures().fit(pd.DataFrame({"text": [SCAM, LEGIT]}))
    names = list(transformer.get_feature_names_out())
    assert names == [f"rf_{n}" for n in redflags.feature_names()]
    matrix = transformer.transform([SCAM, LEGIT])
    assert matrix.shape == (2, len(names))
    assert matrix.max() <= 1.0 and matrix[0].sum() > matrix[1].sum()
    raw = redflags.feature_vector(redflags.assess(SCAM))
    fired = [
        n
        for n, v in zip(redflags.feature_names(), raw, strict=True)
        if v and not n.startswith(("score", "priority", "n_"))
    ]
    assert fired, "the rules should fire on a textbook scam-compound ad"


def test_a_model_survives_changed_rules_by_reading_them_by_name():
    transformer = RedFlagFeatures().fit([SCAM, LEGIT])
    full = transformer.transform([SCAM])
    # As if the model had been trained with three of today's rules and one since removed.
    transformer.feature_names_ = transformer.feature_names_[:3] + ["rf_Z9_removed_rule"]
    transformer.scale_ = np.ones(4)
    old = transformer.transform([SCAM])
    assert old.shape == (1, 4) and old[0, 3] == 0.0
    np.testing.assert_array_equal(
        old[0, :3], full[0, :3] * RedFlagFeatures().fit([SCAM, LEGIT]).scale_[:3]
    )


def test_transformers_survive_pickling():
    frame = ads_to_frame([Ad(text=SCAM), Ad(text=LEGIT)])
    for transformer in (RedFlagFeatures().fit(frame), MetaFeatures().fit(frame)):
        again = pickle.loads(pickle.dumps(transformer))
        np.testing.assert_array_equal(again.transform(frame), transformer.transform(frame))


def test_meta_groups_can_be_ablated():
    frame = ads_to_frame([Ad(text=SCAM)])
    meta = MetaFeatures(include=("shape",)).fit(frame)
    assert list(meta.get_feature_names_out()) == [
        "meta_log_length",
        "meta_upper_share",
        "meta_exclamations",
        "meta_emoji",
    ]
    assert meta.transform(frame).shape == (1, 4)


def test_word_analyzer_matches_scikit_learn_and_caches_only_while_training():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from pipeline.features import _TOKENS, WordAnalyzer, token_cache

    texts = [SCAM, LEGIT, "Gaji 8,5jt/bln &amp; mess. #PHONE_ab12# teamWe hire", ""]
    ours = TfidfVectorizer(analyzer=WordAnalyzer()).fit(texts)
    theirs = TfidfVectorizer(preprocessor=normalise_text, ngram_range=(1, 2)).fit(texts)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert (ours.transform(texts) != theirs.transform(texts)).nnz == 0
    assert not _TOKENS
    with token_cache(10):
        WordAnalyzer()(SCAM)
        assert SCAM in _TOKENS
    assert not _TOKENS
