"""Which scored ads go to the review queue, and in what order.

Flagged ads (score at or above the model's operating threshold) are queued by score. A share
of the queue (default 10 %) goes to the unflagged ads whose scores are closest to the
threshold: the model is least sure about them, so a reviewer's label teaches it most (active
learning). Those items are marked ``reason = "uncertainty"`` and are spread through the
queue, one every ``1 / share`` places, so reviewers actually reach them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def plan_queue(
    scored: Sequence[dict[str, Any]],
    threshold: float,
    uncertainty_share: float = 0.10,
    model_version: str | None = None,
) -> list[dict[str, Any]]:
    """Queue items for ``scored`` rows (ad_id, score, flagged); nothing here touches the store.

    >>> rows = [{"ad_id": "a", "score": 0.9, "flagged": True},
    ...         {"ad_id": "b", "score": 0.4, "flagged": False}]
    >>> [(i["ad_id"], i["reason"]) for i in plan_queue(rows, 0.5, 0.5)]
    [('a', 'score'), ('b', 'uncertainty')]
    """
    flagged = sorted((r for r in scored if r["flagged"]), key=lambda r: -r["score"])
    items = [
        {
            "ad_id": r["ad_id"],
            "priority": r["score"],
            "reason": "score",
            "model_version": model_version,
        }
        for r in flagged
    ]
    if uncertainty_share <= 0:
        return items
    # Enough uncertain items that they make up `share` of what this step enqueues.
    # At least one, so that a quiet night still asks for one label where the model is unsure.
    wanted = max(1, round(uncertainty_share * len(flagged) / (1 - uncertainty_share)))
    candidates = sorted(
        (r for r in scored if not r["flagged"]),
        key=lambda r: (abs(r["score"] - threshold), r["ad_id"]),
    )[:wanted]
    step = max(1, round(1 / uncertainty_share))
    for i, row in enumerate(candidates):
        # Slot the i-th uncertain item just below the flagged item at rank (i + 1) * step.
        rank = min((i + 1) * step, len(flagged)) - 1
        priority = (flagged[rank]["score"] if rank >= 0 else threshold) - 1e-6 * (i + 1)
        items.append(
            {
                "ad_id": row["ad_id"],
                "priority": priority,
                "reason": "uncertainty",
                "model_version": model_version,
            }
        )
    return items
