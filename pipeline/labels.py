"""The decision labels reviewers give (a module of its own, so that reading or checking labels
does not import the database layer: ``waspada score`` starts faster without it)."""

#: Decision labels reviewers can give; the first three are "needs action" (label 1).
LABELS = ("tppo", "nonprocedural", "fee_fraud", "legit", "unsure")
POSITIVE_LABELS = frozenset(LABELS[:3])
