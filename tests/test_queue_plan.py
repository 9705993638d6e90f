"""Which scored ads are queued: flagged ones by score, plus a share of uncertain ones."""

from __future__ import annotations

from pipeline.queue import plan_queue


def rows(scores, threshold):
    return [
        {"ad_id": f"a{i:02d}", "score": s, "flagged": s >= threshold} for i, s in enumerate(scores)
    ]


def test_flagged_ads_are_queued_by_score_and_uncertain_ones_are_marked():
    scored = rows([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.1, 0.05], 0.5)
    items = plan_queue(scored, 0.5, 0.10)
    score_items = [i for i in items if i["reason"] == "score"]
    uncertain = [i for i in items if i["reason"] == "uncertainty"]
    assert [i["ad_id"] for i in score_items] == [f"a{i:02d}" for i in range(10)]
    # 10 flagged → 1 uncertain item (10 % of 11), the unflagged score closest to the threshold.
    assert [i["ad_id"] for i in uncertain] == ["a10"]
    # It is slotted among the flagged items (after rank 10), not buried at the bottom.
    assert uncertain[0]["priority"] > 0.45


def test_uncertain_items_are_spread_through_the_queue():
    scored = rows([0.99 - i * 0.01 for i in range(40)] + [0.3, 0.29, 0.28, 0.27, 0.26], 0.5)
    items = plan_queue(scored, 0.5, 0.10)
    ordered = sorted(items, key=lambda i: -i["priority"])
    positions = [n for n, i in enumerate(ordered) if i["reason"] == "uncertainty"]
    assert len(positions) == 4 and positions[0] < 12 and positions[-1] > 30


def test_no_share_means_no_uncertainty_items():
    assert all(i["reason"] == "score" for i in plan_queue(rows([0.9, 0.2], 0.5), 0.5, 0.0))


def test_a_quiet_night_still_asks_for_one_label_where_the_model_is_unsure():
    items = plan_queue(rows([0.1, 0.45, 0.2], 0.5), 0.5, 0.10)
    assert [(i["ad_id"], i["reason"]) for i in items] == [("a01", "uncertainty")]
