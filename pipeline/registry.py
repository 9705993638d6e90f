"""The model registry under ``models/``: versions, cards, aliases with history, safe loading.

Layout::

    models/<version>/model.joblib   the fitted estimator (joblib; loading it runs code, so it
                                    is loaded only after the checks below)
    models/<version>/flat.json      the same model as plain arrays (``pipeline.flat_model``),
                                    which scoring loads instead of unpickling, when the
                                    model can be flattened
    models/<version>/card.json      manifest + card: artifact SHA-256s, library versions, code
                                    version, data files and their hashes, parameters,
                                    threshold, metrics, training time
    models/<version>/card.md        the same, short and readable
    models/aliases.jsonl            append-only history of the aliases ``champion`` and
                                    ``challenger``: who or what set which version, when, why

A directory written by ``waspada train --model-dir DIR`` has the same files and loads the same
way. Loading refuses, with one line naming the fix, a missing card, a SHA-256 that differs
from the card (of either artifact), or a different scikit-learn version. Red-flag rules that
changed since training do not stop a model: it reads the rules it knows by name (see
``pipeline.featurize.align_columns``) and ``waspada models show`` tells which rules it used.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pipeline import WaspadaError, __version__
from pipeline.paths import MODELS_DIR, PROJECT_ROOT

ALIASES = ("champion", "challenger")
ARTIFACT = "model.joblib"
FLAT = "flat.json"
CARD = "card.json"
CARD_MD = "card.md"
HISTORY = "aliases.jsonl"


class ModelError(WaspadaError):
    """A model cannot be used (missing, corrupt, tampered with, or from another version)."""


def models_root(models_dir: str | os.PathLike | None = None) -> Path:
    return Path(models_dir or os.environ.get("WASPADA_MODELS_DIR") or MODELS_DIR)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import pandas
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "joblib": joblib.__version__,
    }


def code_version() -> dict[str, str]:
    """The package version, the git commit (if any) and the red-flag rules version."""
    from pipeline import redflags

    commit = "unknown"
    try:
        commit = (
            subprocess.run(
                ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            or "unknown"
        )
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--", "pipeline"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        if dirty:
            commit += "+dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"waspada": __version__, "git": commit, "rules": str(redflags.RULES_VERSION)}


# --- writing ----------------------------------------------------------------------------


def dump_artifact(model: Any, path: Path) -> str:
    """Write the estimator with joblib, deterministically; return the file's SHA-256.

    The bytes depend only on the fitted object (compression without timestamps), so the same
    data, code and seed give the same file and the same hash.
    """
    import joblib

    from pipeline.model import strip_volatile_state

    buffer = io.BytesIO()
    joblib.dump(strip_volatile_state(model), buffer, compress=("zlib", 3))
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def new_version(artifact_sha: str) -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{artifact_sha[:6]}"


def write_model(
    directory: Path,
    model: Any,
    *,
    threshold: float,
    card: dict[str, Any],
) -> dict[str, Any]:
    """Write artifact + card.json + card.md into ``directory``; return the full card."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sha = dump_artifact(model, directory / ARTIFACT)
    flat = write_flat(model, directory)
    from pipeline.model import feature_names

    names = [str(n) for n in feature_names(model)]
    full = {
        "version": card.get("version") or new_version(sha),
        "created_at": now_iso(),
        "artifact": {
            "file": ARTIFACT,
            "sha256": sha,
            "bytes": (directory / ARTIFACT).stat().st_size,
        },
        **({"flat": flat} if flat else {}),
        "threshold": float(threshold),
        "libraries": library_versions(),
        "code": code_version(),
        "redflag_features": [n.split("__", 1)[1] for n in names if n.startswith("redflags__")],
        "n_features": len(names),
        **{k: v for k, v in card.items() if k != "version"},
    }
    _write_json(directory / CARD, full)
    (directory / CARD_MD).write_text(card_markdown(full), encoding="utf-8")
    return full


def write_flat(model: Any, directory: Path) -> dict[str, Any] | None:
    """Write the model's flat form (:data:`FLAT`) if it has one; return its manifest entry."""
    from pipeline.model import flat_model

    flat = flat_model(model)
    if flat is None:
        return None
    data = flat.to_json().encode("utf-8")
    tmp = directory / (FLAT + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(directory / FLAT)
    return {"file": FLAT, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    tmp.replace(path)


def card_markdown(card: dict[str, Any]) -> str:
    """A short readable card."""
    lines = [
        f"# Model {card['version']}",
        "",
        f"- created: {card['created_at']}" + (f" — {card['note']}" if card.get("note") else ""),
        f"- operating threshold: {card['threshold']:.4f} ({card.get('threshold_goal', '')})",
        f"- artifact: `{card['artifact']['file']}` sha256 `{card['artifact']['sha256']}`",
        *(
            [
                f"- flat form for scoring: `{card['flat']['file']}` sha256 `{card['flat']['sha256']}`"
            ]
            if card.get("flat")
            else []
        ),
        f"- code: waspada {card['code']['waspada']}, git {card['code']['git']}, rules {card['code']['rules']}",
        "- libraries: " + ", ".join(f"{k} {v}" for k, v in card["libraries"].items()),
        f"- training time: {card.get('train_seconds', '?')} s",
        "",
        "## Data",
        "",
    ]
    data = card.get("data", {})
    lines.append(
        f"{data.get('rows', '?')} ads, {data.get('positive', '?')} positive; hash `{data.get('hash', '')}`"
    )
    lines.append("")
    for entry in data.get("files", []):
        lines.append(
            f"- `{entry['path']}` ({entry.get('format')}, {entry.get('rows', '?')} rows) sha256 `{entry['sha256'][:16]}…`"
        )
    summary = (card.get("metrics") or {}).get("cv", {}).get("summary", {})
    if summary:
        lines += [
            "",
            "## Cross-validation (mean ± sd)",
            "",
            "| metric | mean | sd |",
            "| --- | --- | --- |",
        ]
        for name, entry in summary.items():
            lines.append(f"| {name} | {entry['mean']} | {entry['sd']} |")
    holdout = (card.get("metrics") or {}).get("holdout")
    if holdout:
        lines += ["", f"## Frozen holdout ({holdout.get('n')} ads)", ""]
        for name in ("precision", "recall", "f1", "pr_auc", "roc_auc", "brier"):
            lines.append(f"- {name}: {holdout.get(name)}")
    lines += [
        "",
        "## Parameters",
        "",
        "```json",
        json.dumps(card.get("params", {}), indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)


def register(
    model: Any,
    *,
    threshold: float,
    card: dict[str, Any],
    models_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Add a new version to the registry (no alias is changed); return its card."""
    root = models_root(models_dir)
    staging = root / f".staging-{os.getpid()}"
    full = write_model(staging, model, threshold=threshold, card=card)
    version, n = full["version"], 1
    while (root / version).exists():  # same second, same artifact (training is deterministic)
        n += 1
        version = f"{full['version']}-{n}"
    if version != full["version"]:
        full["version"] = version
        _write_json(staging / CARD, full)
        (staging / CARD_MD).write_text(card_markdown(full), encoding="utf-8")
    staging.rename(root / version)
    return full


# --- aliases and history ------------------------------------------------------------------


def history(models_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Every alias change, oldest first."""
    path = models_root(models_dir) / HISTORY
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise ModelError(
                    f"{path}:{number}: not valid JSON; restore the file from git"
                ) from None
    return out


def aliases(models_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """Current version of each alias."""
    current: dict[str, str] = {}
    for entry in history(models_dir):
        if entry.get("version"):
            current[entry["alias"]] = entry["version"]
        else:
            current.pop(entry["alias"], None)
    return current


def set_alias(
    alias: str,
    version: str,
    *,
    reason: str,
    by: str | None = None,
    action: str = "promote",
    models_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Point ``alias`` at ``version`` and append the change to the history."""
    if alias not in ALIASES:
        raise ModelError(f"unknown alias {alias!r}; use one of: {', '.join(ALIASES)}")
    root = models_root(models_dir)
    if not (root / version / CARD).exists():
        raise ModelError(f"no model version {version!r} in {root}; see `waspada models list`")
    entry = {
        "alias": alias,
        "version": version,
        "previous": aliases(models_dir).get(alias),
        "action": action,
        "by": by or _who(),
        "at": now_iso(),
        "reason": reason,
    }
    root.mkdir(parents=True, exist_ok=True)
    with open(root / HISTORY, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry


def _who() -> str:
    try:
        return os.environ.get("WASPADA_USER") or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def rollback(
    alias: str = "champion",
    *,
    reason: str = "rollback",
    by: str | None = None,
    models_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Point ``alias`` back at the version it had before the current one."""
    current = aliases(models_dir).get(alias)
    previous = [
        e["version"] for e in history(models_dir) if e["alias"] == alias and e.get("version")
    ]
    earlier = [v for v in previous if v != current]
    if not earlier:
        raise ModelError(
            f"{alias} has no earlier version to roll back to; see `waspada models show {alias}`"
        )
    return set_alias(
        alias, earlier[-1], reason=reason, by=by, action="rollback", models_dir=models_dir
    )


def list_versions(models_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Every version's card summary, oldest first, with the aliases that point at it."""
    root = models_root(models_dir)
    if not root.exists():
        return []
    current = aliases(models_dir)
    out = []
    for card_path in sorted(root.glob(f"*/{CARD}")):
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            card = {"version": card_path.parent.name, "broken": True}
        summary = (card.get("metrics") or {}).get("cv", {}).get("summary", {})
        out.append(
            {
                "version": card.get("version", card_path.parent.name),
                "created_at": card.get("created_at"),
                "aliases": [a for a, v in current.items() if v == card_path.parent.name],
                "threshold": card.get("threshold"),
                "pr_auc": (summary.get("pr_auc") or {}).get("mean"),
                "rows": (card.get("data") or {}).get("rows"),
                "note": card.get("note"),
                "broken": card.get("broken", False),
            }
        )
    return out


# --- resolving and loading ----------------------------------------------------------------


def resolve(model: str | os.PathLike, models_dir: str | os.PathLike | None = None) -> Path:
    """The directory of an alias, a version id, or a directory written by ``--model-dir``."""
    text = str(model)
    candidate = Path(text)
    if candidate.is_dir() and (candidate / CARD).exists():
        return candidate
    root = models_root(models_dir)
    if text in ALIASES:
        version = aliases(models_dir).get(text)
        if version is None:
            raise ModelError(
                f"no {text} model in {root}; train one: run `make model` "
                f"(or `waspada train --data data/seed --promote force`)"
            )
        return root / version
    if (root / text).is_dir():
        return root / text
    if candidate.is_dir():
        raise ModelError(
            f"{candidate} has no {CARD}; it is not a model directory (write one with `waspada train --model-dir`)"
        )
    raise ModelError(
        f"no model {text!r}: not an alias, a version in {root} or a model directory; see `waspada models list`"
    )


def read_card(directory: Path) -> dict[str, Any]:
    path = Path(directory) / CARD
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"model {directory} has no {CARD}; retrain it: run `make model`"
        ) from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"model card {path} is unreadable; retrain: run `make model`") from None


@cache
def _installed_scikit_learn() -> str:
    """The installed scikit-learn's version, read without importing it (a second of start-up
    that scoring a flat model does not otherwise need)."""
    from importlib import metadata

    try:
        return metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        import sklearn

        return sklearn.__version__


def _checked(directory: Path, entry: dict[str, Any], name: str) -> bytes:
    """The bytes of an artifact named in the card, refused if missing or not its SHA-256."""
    path = Path(directory) / entry.get("file", "")
    try:
        data = path.read_bytes()
    except OSError:
        raise ModelError(f"model {name}: {path} is missing; retrain: run `make model`") from None
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise ModelError(
            f"model {name} failed its integrity check (SHA-256 of {path.name} differs from "
            f"its card): refusing to load it; retrain with `make model` or `waspada models rollback`"
        )
    return data


def verify(directory: Path, card: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the artifacts against their card before anything reads them; return the card."""
    card = card or read_card(directory)
    name = card.get("version", str(directory))
    _checked(directory, {"file": ARTIFACT, **card.get("artifact", {})}, name)
    if card.get("flat"):
        _checked(directory, card["flat"], name)
    trained_with = card.get("libraries", {}).get("scikit-learn")
    installed = _installed_scikit_learn()
    if trained_with != installed:
        raise ModelError(
            f"model {name} was trained with scikit-learn {trained_with}, this is "
            f"{installed}: retrain it (`make model`) or install scikit-learn=={trained_with}"
        )
    return card


def load(
    model: str | os.PathLike = "champion", models_dir: str | os.PathLike | None = None
) -> tuple[Any, dict[str, Any], Path]:
    """Resolve, verify and unpickle a model; return ``(estimator, card, directory)``."""
    directory = resolve(model, models_dir)
    card = verify(directory)
    return load_estimator(directory, card), card, directory


def load_estimator(directory: Path, card: dict[str, Any]) -> Any:
    """Unpickle the verified artifact of ``directory`` (its card from :func:`verify`)."""
    import joblib

    try:
        return joblib.load(Path(directory) / card["artifact"]["file"])
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the same to the user
        raise ModelError(
            f"model {card.get('version', directory)} cannot be loaded ({type(exc).__name__}); "
            f"retrain: run `make model`"
        ) from None


def load_flat(directory: Path, card: dict[str, Any]) -> Any:
    """The verified model's :class:`~pipeline.flat_model.FlatModel`, or None if it has no
    flat form (a model it cannot express, or one written before flat forms existed)."""
    from pipeline.flat_model import FlatModel

    if not card.get("flat"):
        return None
    data = _checked(directory, card["flat"], card.get("version", str(directory)))
    try:
        return FlatModel.from_json(data.decode("utf-8"))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelError(
            f"model {card.get('version', directory)}: {card['flat']['file']} cannot be read "
            f"({type(exc).__name__}); retrain: run `make model`"
        ) from None


def champion_history(models_dir: str | os.PathLike | None = None) -> list[str]:
    """Champion versions, most recent first, each once."""
    seen: list[str] = []
    for entry in reversed(history(models_dir)):
        version = entry.get("version")
        if entry.get("alias") == "champion" and version and version not in seen:
            seen.append(version)
    return seen
