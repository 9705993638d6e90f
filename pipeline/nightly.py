"""The nightly batch: collect → extract and score → queue → report.

Every stage commits in batches and only works on what the previous run left undone (ads
without a score from the current model, scores the queue step has not looked at), so a run
killed at any point can simply be run again, and a second run over the same pages adds nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from pipeline.config import Config
from pipeline.queue import plan_queue
from pipeline.store import Store

log = logging.getLogger(__name__)

SCORE_BATCH = 256

#: Exit codes of ``waspada nightly`` (a contract in ARCHITECTURE.md).
EXIT_COMPLETED, EXIT_CRASHED, EXIT_CONFIG, EXIT_PARTIAL = 0, 1, 2, 3


@dataclass
class NightlyResult:
    run_id: int
    status: str  # completed | partial
    stats: dict[str, Any] = field(default_factory=dict)
    report_path: Path | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_COMPLETED if self.status == "completed" else EXIT_PARTIAL

    def summary(self) -> str:
        s = self.stats
        line = (
            f"nightly run {self.run_id} {self.status}: {s.get('sources', 0)} sources "
            f"({len(s.get('failed_sources', []))} failed), {s.get('fetched', 0)} pages fetched, "
            f"{s.get('new_ads', 0)} new and {s.get('changed_ads', 0)} changed ads, "
            f"{s.get('scored', 0)} scored, {s.get('flagged', 0)} flagged, "
            f"{s.get('enqueued', 0)} queued ({s.get('enqueued_uncertain', 0)} for uncertainty)"
        )
        if self.report_path:
            line += f"; report: {self.report_path}"
        return line


def run_nightly(config: Config, *, progress: bool = False) -> NightlyResult:
    """Run the whole batch once; return what happened (raises only if the run crashed)."""
    # Imported here so that `waspada --help` stays fast and light.
    from pipeline.report import write_report
    from scrapers.collect import collect

    store = Store(config.database_url)
    run_id = store.start_run("nightly", str(config.path) if config.path else None)
    started = time.monotonic()
    stats: dict[str, Any] = {"sources": len([s for s in config.sources if s.enabled])}
    try:
        for source in config.sources:
            store.upsert_source(source.name, source.kind, {"urls": source.urls, **source.options})
        log.info("run %d: collecting from %d sources", run_id, stats["sources"])
        collected = collect(config, store, run_id, progress=progress)
        stats["per_source"] = collected.per_source
        stats["failed_sources"] = collected.failed_sources
        stats["errors"] = len(collected.errors)
        stats["fetched"] = sum(c.get("fetched", 0) for c in collected.per_source.values())
        stats["new_ads"] = sum(c.get("new", 0) for c in collected.per_source.values())
        stats["changed_ads"] = sum(c.get("changed", 0) for c in collected.per_source.values())

        scorer, warning = _load_scorer(config)
        stats["model_version"] = scorer.version
        stats["threshold"] = scorer.threshold
        if warning:
            log.warning(warning)
            stats["model_warning"] = warning
        stats.update(score_pending(store, scorer, run_id, progress=progress))
        stats.update(enqueue_pending(store, scorer, run_id, config.uncertainty_share, config))
        stats["seconds"] = round(time.monotonic() - started, 1)
        status = "partial" if collected.failed_sources else "completed"
        report_path = write_report(
            store, run_id, status, stats, collected.errors, config.reports_dir
        )
        store.finish_run(run_id, status, stats, str(report_path))
        return NightlyResult(run_id, status, stats, report_path)
    except BaseException as exc:
        stats["error"] = f"{type(exc).__name__}: {exc}"
        store.finish_run(run_id, "crashed", stats)
        raise
    finally:
        store.close()


def _load_scorer(config: Config):
    from pipeline.scoring import load_scorer

    return load_scorer(config.model, config.models_dir)


def score_pending(
    store: Store, scorer: Any, run_id: int | None, *, progress: bool = False
) -> dict[str, int]:
    """Extract, apply the rules and score every ad the current model has not scored yet."""
    from pipeline.redflags import RULES_VERSION

    pending = store.ads_without_score(scorer.version)
    scored = flagged = 0
    bar = tqdm(total=len(pending), desc="scoring", unit="ad", disable=not progress, leave=False)
    for start in range(0, len(pending), SCORE_BATCH):
        batch = list(store.iter_ads(pending[start : start + SCORE_BATCH]))
        results = scorer.score_ads(batch)
        store.save_extractions(
            [
                {
                    "ad_id": r["ad_id"],
                    "text_hash": r["text_hash"],
                    "rules_version": RULES_VERSION,
                    "fields": r.get("fields", {}),
                    "flags": r.get("flags", []),
                }
                for r in results
            ]
        )
        store.save_scores(results, run_id=run_id)
        scored += len(results)
        flagged += sum(1 for r in results if r["flagged"])
        bar.update(len(results))
    bar.close()
    log.info("scored %d ads with model %s, %d flagged", scored, scorer.version, flagged)
    return {"scored": scored, "flagged": flagged}


def enqueue_pending(
    store: Store, scorer: Any, run_id: int | None, share: float, config: Config | None = None
) -> dict[str, int]:
    """Queue the flagged ads among the scores not yet considered, plus the uncertain share."""
    rows = store.scores_to_consider(scorer.version)
    threshold = scorer.threshold
    if config is not None and config.queue_threshold is not None:
        threshold = config.queue_threshold
        for row in rows:
            row["flagged"] = row["score"] >= threshold
    items = plan_queue(rows, threshold, share, scorer.version)
    added = store.enqueue(items, run_id, considered=(scorer.version, [r["ad_id"] for r in rows]))
    # Counted among the items really added: an ad already in the queue (scored again by a new
    # model, say) is planned but kept as it was.
    new = set(added)
    uncertain = sum(1 for i in items if i["reason"] == "uncertainty" and i["ad_id"] in new)
    log.info("queued %d items (%d for uncertainty)", len(added), uncertain)
    return {"enqueued": len(added), "enqueued_uncertain": uncertain}
