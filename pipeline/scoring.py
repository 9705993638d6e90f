"""Scoring: a verified model plus the red-flag rules turned into one result per ad.

``Scorer`` is what the nightly batch and ``waspada score`` use. ``score_file`` streams a JSON
Lines file through it in chunks, on several processes (the model is loaded once per process:
inherited by fork where the platform has it), keeping the output in input order and memory
bounded by a small window of chunks in flight.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pipeline.ad import Ad, AdFormatError, open_input, open_output
from pipeline.featurize import ads_to_columns, assess_cached
from pipeline.redflags import assess
from pipeline.registry import (
    ModelError,
    champion_history,
    load_estimator,
    load_flat,
    resolve,
    verify,
)

if TYPE_CHECKING:
    from pipeline.flat_model import FlatModel

CATEGORIES = ("tppo", "nonprocedural", "fee_fraud")
#: Flag keys written by ``waspada score`` (the interchange contract).
FLAG_KEYS = ("id", "family", "severity", "evidence")


class Scorer:
    """A loaded, verified model with its operating threshold.

    Scores with the model's flat form when it has one (no scikit-learn needed: see
    ``pipeline.flat_model``); the scikit-learn estimator itself (``model``) is unpickled only
    when something asks for it, or when there is no flat form.
    """

    def __init__(
        self,
        model: Any,
        card: dict[str, Any],
        directory: Path | None = None,
        flat: FlatModel | None = None,
    ) -> None:
        self._model = model
        self.flat = flat
        self.card = card
        self.directory = directory
        self.version: str = card["version"]
        self.threshold: float = float(card["threshold"])

    @classmethod
    def load(
        cls, model: str | os.PathLike = "champion", models_dir: os.PathLike | str | None = None
    ) -> Scorer:
        """Load an alias, a version id or a ``--model-dir`` directory; refuse bad files."""
        directory = resolve(model, models_dir)
        card = verify(directory)
        flat = load_flat(directory, card)
        estimator = None if flat is not None else load_estimator(directory, card)
        return cls(estimator, card, directory, flat)

    @property
    def model(self) -> Any:
        """The scikit-learn estimator (unpickled on first use, checked again first)."""
        if self._model is None:
            assert self.directory is not None
            self._model = load_estimator(self.directory, verify(self.directory, self.card))
        return self._model

    def score_ads(self, ads: Sequence[Ad], *, fields: bool = True) -> list[dict[str, Any]]:
        """One result per ad, in order: ad_id, text_hash, model_version, score (calibrated
        probability), flagged (score ≥ threshold), scores (per category, 0..1), band,
        priority, patterns, flags (dicts with id, family, severity, evidence, spans, ...),
        explanation ({"terms": [[term, weight]], "features": [[name, weight]]}) and, unless
        ``fields=False``, fields (the extraction, for the store)."""
        if not ads:
            return []
        out = []
        for ad, assessment, score, explanation in zip(ads, *self._score(ads), strict=True):
            out.append(
                {
                    "ad_id": ad.id,
                    "text_hash": ad.text_hash,
                    "model_version": self.version,
                    "score": score,
                    "flagged": score >= self.threshold,
                    "scores": _category_scores(assessment),
                    "band": assessment.band,
                    "priority": assessment.priority,
                    "patterns": list(assessment.patterns),
                    "flags": [f.to_dict() for f in assessment.top_flags(len(assessment.flags))],
                    "explanation": explanation,
                }
            )
            if fields:
                out[-1]["fields"] = assessment.fields.to_dict()
        return out

    def _score(self, ads: Sequence[Ad]) -> tuple[list[Any], list[float], list[dict[str, Any]]]:
        """Assessments, scores (rounded probabilities) and explanations of non-empty ``ads``."""
        if self.flat is not None:
            # Not through the cache: each chunk's assessments are dropped after it, instead of
            # a few thousand ads' worth staying alive for the collector to walk over.
            assessments = list(map(assess, (ad.text for ad in ads)))
            X = self.flat.transform(ads_to_columns(ads), assessments)
            probabilities = self.flat.probabilities(self.flat.decision(X))
            explanations = self.flat.explain(X)
        else:
            from pipeline.features import ads_to_frame
            from pipeline.model import explain_rows, transform_and_score

            assessments = [assess_cached(ad.text) for ad in ads]  # the features read them too
            X, _, probabilities = transform_and_score(self.model, ads_to_frame(ads))
            explanations = explain_rows(self.model, X)
        scores = list(map(round, probabilities.tolist(), repeat(6)))
        return assessments, scores, explanations


def _category_scores(assessment: Any) -> dict[str, float]:
    return {c: round(assessment.scores.get(c, 0) / 100, 4) for c in CATEGORIES}


def _interchange_flags(assessment: Any) -> list[dict[str, Any]]:
    """The flags as ``waspada score`` writes them: the :data:`FLAG_KEYS` of ``Flag.to_dict``,
    strongest first, without building the rest of each dict."""
    return [
        {
            "id": f.id,
            "family": f.family,
            "severity": f.severity,
            "evidence": f.evidence[0].text if f.evidence else "",
        }
        for f in assessment.top_flags(len(assessment.flags))
    ]


def load_scorer(
    model: str | os.PathLike = "champion", models_dir: os.PathLike | str | None = None
) -> tuple[Scorer, str | None]:
    """Load ``model``; if it is refused, fall back to the last good champion in the history.

    Returns the scorer and a one-line warning saying what was refused and what is used instead
    (None when the requested model loaded).
    """
    try:
        return Scorer.load(model, models_dir), None
    except ModelError as exc:
        refused = str(exc)
    for version in champion_history(models_dir):
        if version == str(model):
            continue
        try:
            scorer = Scorer.load(version, models_dir)
        except ModelError:
            continue
        return scorer, f"model {model} refused ({refused}); using the last good champion {version}"
    raise ModelError(f"{refused} (and no earlier champion loads)")


def uncertainty_pick(
    scored: list[dict[str, Any]], threshold: float, n: int
) -> list[dict[str, Any]]:
    """The ``n`` unflagged results whose scores are closest to the threshold, marked as such.

    Active learning: a reviewer's label on these teaches the model most.
    """
    if n <= 0:
        return []
    candidates = [r for r in scored if not r.get("flagged", r["score"] >= threshold)]
    candidates.sort(key=lambda r: (abs(r["score"] - threshold), str(r.get("ad_id", ""))))
    return [{**r, "reason": "uncertainty", "uncertain": True} for r in candidates[:n]]


# --- streaming a file -----------------------------------------------------------------------

_WORKER: Scorer | None = None

# Scoring allocates containers by the million (tokens, flags, JSON objects), nearly all freed
# by reference counting as soon as they are dropped, while a large long-lived object graph
# (the model, compiled rules, modules) sits in the heap. With the default thresholds the
# collector runs every 700 allocations and its older generations traverse that whole graph
# again and again: 10-15 % of scoring CPU. So while scoring, what exists is moved out of the
# collector's sight (gc.freeze, which in forked workers also keeps the memory pages shared
# with the parent unwritten) and the youngest generation is collected every 50,000
# allocations (measured: no slower than no collection at all).
_GC_GEN0_THRESHOLD = 50_000


def _tune_gc() -> None:
    gc.freeze()
    gc.set_threshold(_GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


@contextlib.contextmanager
def _scoring_gc() -> Iterator[None]:
    """:func:`_tune_gc` for a block; the collector's settings are restored afterwards."""
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    _tune_gc()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen:  # objects someone else froze stay frozen
            gc.unfreeze()


def _init_worker(directory: str | None) -> None:
    global _WORKER
    if _WORKER is None and directory is not None:
        _WORKER = Scorer.load(directory)
    _tune_gc()


def _score_lines(
    lines: list[tuple[int, str]], skip_bad: bool
) -> tuple[str, int, list[tuple[int, str]], int]:
    """Score raw JSONL lines; return the output lines as one string (one object to send back
    from a worker, one write), their number, ``(line, problem)`` for bad ones, and how many
    were flagged."""
    assert _WORKER is not None
    objects, ads, bad = [], [], []
    for number, line in lines:
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise AdFormatError("expected a JSON object")
            ad = Ad.from_record(obj)
        except json.JSONDecodeError as exc:
            bad.append((number, f"not valid JSON ({exc.msg})"))
            if not skip_bad:
                break
            continue
        except AdFormatError as exc:
            bad.append((number, str(exc)))
            if not skip_bad:
                break
            continue
        objects.append(obj)
        ads.append(ad)
    if not ads or (bad and not skip_bad):
        return "", 0, bad, 0
    out = []
    flagged = 0
    version, threshold = _WORKER.version, _WORKER.threshold
    for record, assessment, score, explanation in zip(objects, *_WORKER._score(ads), strict=True):
        is_flagged = score >= threshold
        flagged += is_flagged
        # The input object itself becomes the output record: its keys first, in input order.
        record.update(
            score=score,
            flagged=is_flagged,
            scores=_category_scores(assessment),
            band=assessment.band,
            flags=_interchange_flags(assessment),
            model_version=version,
            explanation=explanation,
        )
        out.append(_encode(record))
    out.append("")  # the last line's newline
    return "\n".join(out), len(out) - 1, bad, flagged


# ``json.dumps`` with these options builds a new encoder for every call. A record (parsed
# JSON plus new dicts and lists) cannot contain a cycle: not checking saves ~7 % of encoding.
_encode = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode


def _chunks(stream: IO[str], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for number, line in enumerate(stream, start=1):
        if line.strip():
            chunk.append((number, line))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _emscad_chunks(path: Path, size: int) -> Iterator[list[tuple[int, str]]]:
    """EMSCAD CSV rows as interchange lines (text = the five text fields joined; every
    column passed through), so ``waspada score`` reads EMSCAD directly."""
    from collections import Counter as _Counter

    from pipeline.datasets import _csv_rows, emscad_record

    chunk: list[tuple[int, str]] = []
    for number, row, _ in _csv_rows(path, False, _Counter()):
        record = emscad_record(row)
        if "fraudulent" in row:
            record["fraudulent"] = row["fraudulent"]
        chunk.append((number, json.dumps(record, ensure_ascii=False)))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class ScoreStats:
    scored: int = 0
    flagged: int = 0
    skipped: int = 0
    model_version: str = ""
    warning: str | None = None


def score_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    model: str | os.PathLike = "champion",
    models_dir: str | os.PathLike | None = None,
    jobs: int | None = None,
    skip_bad: bool = False,
    chunk_size: int = 500,
    on_skip: Any = None,
) -> ScoreStats:
    """Score a JSONL file into another (``-`` for stdin/stdout), streaming in chunks.

    A bad line raises naming ``file:line`` (nothing is left at the output path), or with
    ``skip_bad`` is skipped and counted. ``jobs`` defaults to every core.
    """
    global _WORKER
    scorer = Scorer.load(model, models_dir)
    stats = ScoreStats(model_version=scorer.version)
    jobs = max(1, jobs or os.cpu_count() or 1)
    name = "<stdin>" if str(input_path) == "-" else str(input_path)
    to_stdout = str(output_path) == "-"
    final = Path(output_path) if not to_stdout else None
    temp = final.with_name(final.name + ".part") if final else None
    reasons: Counter = Counter()

    def handle(result: tuple[str, int, list[tuple[int, str]], int], out: IO[str]) -> None:
        text, count, bad, flagged = result
        if bad and not skip_bad:
            number, problem = bad[0]
            raise AdFormatError(f"{name}:{number}: {problem}")
        for number, problem in bad:
            stats.skipped += 1
            reasons[problem.split(" (")[0]] += 1
            if on_skip:
                on_skip(f"{name}:{number}: {problem}")
        out.write(text)
        stats.scored += count
        stats.flagged += flagged

    _WORKER = scorer
    emscad = str(input_path).lower().endswith((".csv", ".csv.gz"))
    stream = None if emscad else open_input(input_path)
    out = open_output(temp or "-")
    try:
        chunks = (
            _emscad_chunks(Path(input_path), chunk_size) if emscad else _chunks(stream, chunk_size)
        )
        with _scoring_gc():  # before forking: the workers inherit the frozen heap
            if jobs == 1:
                for chunk in chunks:
                    handle(_score_lines(chunk, skip_bad), out)
            else:
                _score_parallel(chunks, jobs, scorer, skip_bad, lambda r: handle(r, out))
        _close(out, str(output_path) == "-")
        if temp is not None and final is not None:
            temp.replace(final)
    except BaseException:
        _close(out, str(output_path) == "-")
        if temp is not None and temp.exists():
            temp.unlink()
        raise
    finally:
        if stream is not None:
            _close(stream, str(input_path) == "-")
        _WORKER = None
    return stats


def _close(handle: IO[str], standard: bool) -> None:
    """Close a file; for stdin/stdout only flush and detach the wrapper (closing it would close
    the process's own stream)."""
    if handle.closed:
        return
    if standard and hasattr(handle, "detach"):
        with contextlib.suppress(ValueError):  # already closed underneath
            handle.flush()
        handle.detach()
    else:
        handle.close()


def _score_parallel(
    chunks: Iterable[list[tuple[int, str]]], jobs: int, scorer: Scorer, skip_bad: bool, handle: Any
) -> None:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    # fork: workers inherit the loaded, verified model; elsewhere each loads it from disk.
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    directory = None if context.get_start_method() == "fork" else str(scorer.directory)
    window: deque[Future] = deque()
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker, initargs=(directory,)
    ) as pool:
        try:
            for chunk in chunks:
                window.append(pool.submit(_score_lines, chunk, skip_bad))
                # Bounded memory: at most two chunks per worker in flight.
                if len(window) >= 2 * jobs:
                    handle(window.popleft().result())
            while window:
                handle(window.popleft().result())
        except BaseException:
            for future in window:
                future.cancel()
            raise


__all__ = ["Scorer", "ScoreStats", "load_scorer", "score_file", "uncertainty_pick"]
