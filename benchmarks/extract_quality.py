"""Precision and recall of field extraction on the annotated snippets (tests/data/extraction).

Each snippet lists every expected item of the evaluated fields with its span, so anything else
the extractor returns for those fields is a false positive. A prediction matches an expected
item when the field and the normalised value agree and the spans overlap; ``exact_*`` also
requires the very same span.

Run: ``.venv/bin/python benchmarks/extract_quality.py [--show-errors]``. The last line of output
is one JSON object: ``{"fields": {field: {"precision", "recall", ...}}, "min_precision", ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.extract import extract  # noqa: E402

DATA_DIR = ROOT / "tests" / "data" / "extraction"
FIELDS = (
    "phones",
    "whatsapp",
    "telegram",
    "emails",
    "urls",
    "money",
    "destinations",
    "transits",
    "visas",
    "ages",
    "job_types",
    "companies",
    "permits",
    "bank_accounts",
)


def load_snippets(data_dir: Path = DATA_DIR) -> list[dict]:
    rows = []
    for path in sorted(data_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return rows


def _match(pred: list[tuple[str, int, int]], gold: list[tuple[str, int, int]], exact: bool):
    """Greedy one-to-one matching; returns (tp, fp, fn, unmatched_pred, unmatched_gold)."""
    used: set[int] = set()
    tp = 0
    missed_pred = []
    for p in pred:
        hit = None
        for k, g in enumerate(gold):
            if k in used or p[0] != g[0]:
                continue
            if (p[1], p[2]) == (g[1], g[2]) if exact else (p[1] < g[2] and g[1] < p[2]):
                hit = k
                break
        if hit is None:
            missed_pred.append(p)
        else:
            used.add(hit)
            tp += 1
    missed_gold = [g for k, g in enumerate(gold) if k not in used]
    return tp, len(pred) - tp, len(gold) - tp, missed_pred, missed_gold


def evaluate(rows: list[dict], show_errors: bool = False) -> dict:
    counts = {f: {"tp": 0, "fp": 0, "fn": 0, "exact_tp": 0, "n_gold": 0} for f in FIELDS}
    errors: list[str] = []
    for row in rows:
        ex = extract(row["text"])
        for field in FIELDS:
            pred = [(i.value, i.start, i.end) for i in getattr(ex, field)]
            gold = [
                (g["value"], g["start"], g["end"]) for g in row["expected"] if g["field"] == field
            ]
            tp, fp, fn, bad_pred, bad_gold = _match(pred, gold, exact=False)
            etp = _match(pred, gold, exact=True)[0]
            c = counts[field]
            c["tp"] += tp
            c["fp"] += fp
            c["fn"] += fn
            c["exact_tp"] += etp
            c["n_gold"] += len(gold)
            if show_errors:
                t = row["text"]
                for v, s, e in bad_pred:
                    errors.append(f"{row['id']} {field} FP {v!r} {t[s:e]!r}")
                for v, s, e in bad_gold:
                    errors.append(f"{row['id']} {field} FN {v!r} {t[s:e]!r}")
    fields = {}
    for f, c in counts.items():
        n_pred = c["tp"] + c["fp"]
        fields[f] = {
            "precision": round(c["tp"] / n_pred, 4) if n_pred else 1.0,
            "recall": round(c["tp"] / c["n_gold"], 4) if c["n_gold"] else 1.0,
            "exact_span_precision": round(c["exact_tp"] / n_pred, 4) if n_pred else 1.0,
            "exact_span_recall": round(c["exact_tp"] / c["n_gold"], 4) if c["n_gold"] else 1.0,
            "n_expected": c["n_gold"],
            "n_predicted": n_pred,
        }
    return {
        "n_snippets": len(rows),
        "fields": fields,
        "min_precision": min(v["precision"] for v in fields.values()),
        "min_recall": min(v["recall"] for v in fields.values()),
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show-errors", action="store_true", help="list every FP/FN")
    args = ap.parse_args()
    rows = load_snippets()
    res = evaluate(rows, show_errors=args.show_errors)
    for line in res.pop("errors"):
        print(line)
    print(f"{'field':<14} {'P':>6} {'R':>6} {'exactP':>7} {'exactR':>7} {'n':>5}")
    for f, v in res["fields"].items():
        print(
            f"{f:<14} {v['precision']:>6.3f} {v['recall']:>6.3f} {v['exact_span_precision']:>7.3f}"
            f" {v['exact_span_recall']:>7.3f} {v['n_expected']:>5}"
        )
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
