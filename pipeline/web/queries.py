"""Read-only queries behind the reviewer pages' overviews (the admin page, undo, counts).

They use the Store's engine and table objects, so they behave the same on SQLite and
PostgreSQL; every write goes through ``pipeline.store.Store``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pipeline.store import Store, decisions, now, queue_items, users


def undoable_decision(store: Store, reviewer: str) -> dict[str, Any] | None:
    """The reviewer's latest decision that undo can take back, or None.

    That is the newest decision of theirs whose queue item is closed and which is still the
    latest decision on its ad (a later decision by someone else is not theirs to undo).
    Pressing undo again walks further back, like Prodigy's history.
    """
    latest_per_ad = (
        sa.select(sa.func.max(decisions.c.id).label("id"))
        .group_by(decisions.c.ad_id)
        .scalar_subquery()
    )
    query = (
        sa.select(decisions)
        .join(queue_items, queue_items.c.ad_id == decisions.c.ad_id)
        .where(
            decisions.c.reviewer == reviewer,
            queue_items.c.status == "done",
            decisions.c.id.in_(latest_per_ad),
        )
        .order_by(decisions.c.id.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def claimed_count(store: Store) -> int:
    """Open items someone holds an unexpired claim on right now."""
    query = sa.select(sa.func.count()).where(
        queue_items.c.status == "open",
        queue_items.c.claimed_by.is_not(None),
        queue_items.c.claim_expires_at >= now(),
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def list_users(store: Store) -> list[dict[str, Any]]:
    """Users without their password hashes, by name."""
    query = sa.select(users.c.name, users.c.role, users.c.created_at).order_by(users.c.name)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def decision_counts(store: Store) -> list[dict[str, Any]]:
    """How many decisions each reviewer gave, per label (the admin page)."""
    query = (
        sa.select(decisions.c.reviewer, decisions.c.label, sa.func.count().label("n"))
        .group_by(decisions.c.reviewer, decisions.c.label)
        .order_by(decisions.c.reviewer, decisions.c.label)
    )
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def recent_decisions(
    store: Store, limit: int = 50, reviewer: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(decisions).order_by(decisions.c.id.desc()).limit(limit)
    if reviewer is not None:
        query = query.where(decisions.c.reviewer == reviewer)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
