"""The run report: one self-contained HTML file per nightly run, with charts.

Everything that came from a scraped page is escaped by Jinja2's autoescape; charts are PNGs
embedded as data URIs so the file can be mailed to a partner agency as it is.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2

from pipeline.store import Store

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("pipeline", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _snippet(text: str, title: str | None = None, width: int = 280) -> str:
    """The start of an ad's text, without repeating its title."""
    if title and text.startswith(title):
        text = text[len(title) :]
    text = text.strip()
    return text if len(text) <= width else text[:width].rstrip() + "…"


_env.filters["snippet"] = _snippet


def write_report(
    store: Store,
    run_id: int,
    status: str,
    stats: dict[str, Any],
    errors: list[dict[str, Any]],
    reports_dir: Path,
    top: int = 25,
) -> Path:
    """Write ``run-<id>.html`` into ``reports_dir`` and return its path."""
    model_version = stats.get("model_version")
    scored = store.scores_for(model_version) if model_version else []
    queue = store.queue(status="open", limit=top)
    bands = Counter(row["band"] or "?" for row in scored)
    html = _env.get_template("report.html").render(
        run_id=run_id,
        run=store.get_run(run_id),
        status=status,
        stats=stats,
        per_source=stats.get("per_source", {}),
        errors=errors[:200],
        n_errors=len(errors),
        queue=queue,
        queue_counts=store.queue_counts(),
        bands=sorted(bands.items(), key=lambda kv: -kv[1]),
        score_chart=_score_histogram([row["score"] for row in scored], stats.get("threshold")),
        source_chart=_source_chart(stats.get("per_source", {})),
    )
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"run-{run_id}.html"
    path.write_text(html, encoding="utf-8")
    return path


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _score_histogram(scores: list[float], threshold: float | None) -> str | None:
    if not scores:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.hist(scores, bins=20, range=(0, 1), color="#4c78a8", edgecolor="white")
    if threshold is not None:
        ax.axvline(threshold, color="#e45756", linestyle="--", label=f"threshold {threshold:.2f}")
        ax.legend(frameon=False)
    ax.set_xlabel("calibrated score")
    ax.set_ylabel("ads")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _source_chart(per_source: dict[str, dict[str, int]]) -> str | None:
    if not per_source:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_source)
    new = [per_source[n].get("new", 0) for n in names]
    errors = [per_source[n].get("errors", 0) for n in names]
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(names)))
    ax.barh(names, new, color="#54a24b", label="new ads")
    ax.barh(names, errors, left=new, color="#e45756", label="errors")
    ax.invert_yaxis()
    ax.legend(frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
