"""LightGBM models compiled to native code with lleaves, for the decision hot path.

lleaves turns a booster's trees into machine code through LLVM: the same predictions
(LightGBM's own to 1e-15 on our models) at about a quarter of ``Booster.predict``'s cost
per candidate in micro-batches (``bench/scoring.py``). Compiling takes seconds, so the
object code is kept beside the model in the registry, under a name that holds the
model's hash, the machine and the LLVM binding's version: a worker that loads a version
compiled before (by itself or another worker on the machine) only reads it.

:func:`compile_booster` refuses a compiled model whose predictions differ from the
booster's by more than :data:`TOLERANCE` on :func:`probe_matrix`, rows that take each
side of every split of the model (and its missing-value branches).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import llvmlite
import numpy as np
import numpy.typing as npt

from models.errors import CompilationError
from models.features import FloatArray

Predict = Callable[[npt.NDArray[np.floating]], FloatArray]

FLOAT32_MAX = float(np.finfo(np.float32).max)
TOLERANCE = 1e-6
"""The largest difference from ``Booster.predict`` a compiled model may show."""


def cache_name(model_text: str) -> str:
    """The file name of a model's object code: its hash, the machine, the LLVM binding."""
    digest = hashlib.sha256(model_text.encode()).hexdigest()[:16]
    return f"lleaves-{digest}-{platform.machine()}-llvmlite{llvmlite.__version__}.o"


def probe_matrix(booster: lgb.Booster, rows: int = 512, seed: int = 0) -> FloatArray:
    """At least ``rows`` rows (float32 values, as the encoder makes them) in which each
    feature takes a value in every interval its split thresholds cut the line into
    (midway between neighbours, and beyond the first and the last), zero, NaN and every
    category the model splits on, in a shuffled order per feature. Values at a threshold
    itself are left out: the encoder's values are not LightGBM's midpoints."""
    rng = np.random.default_rng(seed)
    names = booster.feature_name()
    splits = booster.trees_to_dataframe().dropna(subset=["split_feature"])
    columns: list[FloatArray] = []
    for name in names:
        mine = splits[splits["split_feature"] == name]
        categorical = mine["decision_type"] == "=="
        categories = [float(c) for t in mine["threshold"][categorical] for c in str(t).split("||")]
        cuts = np.unique(mine["threshold"][~categorical].astype(np.float64))
        between = (cuts[:-1] + cuts[1:]) / 2.0
        outside = [cuts[0] - 1.0, cuts[-1] + 1.0] if len(cuts) else []
        wide = np.asarray([np.nan, 0.0, *categories, *between, *outside])
        # LightGBM writes 1e300 for a split with no upper bound: the largest float32 serves
        values = np.clip(wide, -FLOAT32_MAX, FLOAT32_MAX).astype(np.float32)
        columns.append(np.unique(values).astype(np.float64))
    size = max(rows, *(len(c) for c in columns))
    matrix = np.empty((size, len(names)))
    for j, column in enumerate(columns):
        matrix[:, j] = rng.permutation(np.resize(column, size))
    return matrix


def compile_booster(booster: lgb.Booster, cache_dir: Path | None = None) -> Predict:
    """``booster`` compiled, as a function of a feature matrix (one thread); its object
    code read from or written to ``cache_dir`` when it is given and writable."""
    import lleaves  # imported here: it loads LLVM, which only the compiling process needs

    text = booster.model_to_string()
    kept = cache_dir / cache_name(text) if cache_dir is not None else None
    with tempfile.TemporaryDirectory(prefix="lleaves-") as scratch:
        model_file = Path(scratch) / "model.txt"
        model_file.write_text(text, encoding="utf-8")
        compiled = lleaves.Model(model_file=str(model_file))
        try:
            if kept is not None and kept.is_file():
                compiled.compile(cache=str(kept))
            else:
                # lleaves writes its object code to the cache path given: written aside
                # and renamed into place, so that another worker never reads half of it
                fresh = Path(scratch) / "model.o"
                compiled.compile(cache=str(fresh))
                if kept is not None:
                    _keep(fresh, kept)
        except Exception as exc:
            raise CompilationError(f"lleaves could not compile the model: {exc}") from exc

    def predict(features: npt.NDArray[np.floating]) -> FloatArray:
        return np.asarray(compiled.predict(features, n_jobs=1), dtype=np.float64)

    probe = probe_matrix(booster)
    difference = float(np.max(np.abs(predict(probe) - booster.predict(probe))))
    if not difference <= TOLERANCE:
        raise CompilationError(
            f"the compiled model differs from LightGBM by {difference:.3g} (at most "
            f"{TOLERANCE:g} allowed)"
        )
    return predict


def _keep(fresh: Path, kept: Path) -> None:
    """Put the object code ``fresh`` at ``kept`` in one rename; nothing if the folder is
    read-only (the next load compiles again)."""
    aside = kept.with_name(f".{kept.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        shutil.copyfile(fresh, aside)
        os.replace(aside, kept)
    except OSError:
        aside.unlink(missing_ok=True)
