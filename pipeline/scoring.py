"""Scoring: a verified model plus the red-flag rules turned into one result per ad.

``Scorer`` is what the nightly batch and ``waspada score`` use. ``score_file`` streams a JSON
Lines file through it in chunks, on several processes (the model is loaded once per process:
inherited by fork where the platform has it), keeping the output in input order and memory
bounded by a small window of chunks in flight.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.ad import Ad, AdFormatError, open_input, open_output
from pipeline.features import ads_to_frame, assess_cached
from pipeline.model import explain_rows, transform_and_score
from pipeline.registry import ModelError, champion_history, load

CATEGORIES = ("tppo", "nonprocedural", "fee_fraud")
#: Flag keys written by ``waspada score`` (the interchange contract).
FLAG_KEYS = ("id", "family", "severity", "evidence")


class Scorer:
    """A loaded, verified model with its operating threshold."""

    def __init__(self, model: Any, card: dict[str, Any], directory: Path | None = None) -> None:
        self.model = model
        self.card = card
        self.directory = directory
        self.version: str = card["version"]
        self.threshold: float = float(card["threshold"])

    @classmethod
    def load(
        cls, model: str | os.PathLike = "champion", models_dir: os.PathLike | str | None = None
    ) -> Scorer:
        """Load an alias, a version id or a ``--model-dir`` directory; refuse bad files."""
        estimator, card, directory = load(model, models_dir)
        return cls(estimator, card, directory)

    def score_ads(self, ads: Sequence[Ad], *, fields: bool = True) -> list[dict[str, Any]]:
        """One result per ad, in order: ad_id, text_hash, model_version, score (calibrated
        probability), flagged (score ≥ threshold), scores (per category, 0..1), band,
        priority, patterns, flags (dicts with id, family, severity, evidence, spans, ...),
        explanation ({"terms": [[term, weight]], "features": [[name, weight]]}) and, unless
        ``fields=False``, fields (the extraction, for the store)."""
        if not ads:
            return []
        assessments = [assess_cached(ad.text) for ad in ads]
        frame = ads_to_frame(ads)
        X, _, probabilities = transform_and_score(self.model, frame)
        explanations = explain_rows(self.model, X)
        out = []
        for ad, assessment, p, explanation in zip(
            ads, assessments, probabilities, explanations, strict=True
        ):
            score = round(float(p), 6)
            out.append(
                {
                    "ad_id": ad.id,
                    "text_hash": ad.text_hash,
                    "model_version": self.version,
                    "score": score,
                    "flagged": score >= self.threshold,
                    "scores": {c: round(assessment.scores.get(c, 0) / 100, 4) for c in CATEGORIES},
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


def _init_worker(directory: str | None) -> None:
    global _WORKER
    if _WORKER is None and directory is not None:
        _WORKER = Scorer.load(directory)


def _score_lines(
    lines: list[tuple[int, str]], skip_bad: bool
) -> tuple[list[str], list[tuple[int, str]], int]:
    """Score raw JSONL lines; return output lines, ``(line, problem)`` for bad ones, and how
    many were flagged."""
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
    if bad and not skip_bad:
        return [], bad, 0
    out = []
    flagged = 0
    for obj, result in zip(objects, _WORKER.score_ads(ads, fields=False), strict=True):
        flagged += result["flagged"]
        record = dict(obj)
        record.update(
            score=result["score"],
            flagged=result["flagged"],
            scores=result["scores"],
            band=result["band"],
            flags=[{k: f[k] for k in FLAG_KEYS} for f in result["flags"]],
            model_version=result["model_version"],
            explanation=result["explanation"],
        )
        out.append(json.dumps(record, ensure_ascii=False, default=str))
    return out, bad, flagged


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

    def handle(result: tuple[list[str], list[tuple[int, str]], int], out: IO[str]) -> None:
        lines, bad, flagged = result
        if bad and not skip_bad:
            number, problem = bad[0]
            raise AdFormatError(f"{name}:{number}: {problem}")
        for number, problem in bad:
            stats.skipped += 1
            reasons[problem.split(" (")[0]] += 1
            if on_skip:
                on_skip(f"{name}:{number}: {problem}")
        for line in lines:
            out.write(line)
            out.write("\n")
        stats.scored += len(lines)
        stats.flagged += flagged

    _WORKER = scorer
    emscad = str(input_path).lower().endswith((".csv", ".csv.gz"))
    stream = None if emscad else open_input(input_path)
    out = open_output(temp or "-")
    try:
        chunks = (
            _emscad_chunks(Path(input_path), chunk_size) if emscad else _chunks(stream, chunk_size)
        )
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
