"""Scoring per candidate: one LightGBM ``predict`` call per candidate beside one call per
micro-batch, in the same run. Needs no services.

Trains the bootstrap model on ``--train-rows`` simulated rows (or loads the champion of
``--registry``), registers it in a temporary registry and loads it back as a
``models.scoring.Scorer``, as the decision agent would. The candidates are ``--candidates``
rows of a simulated training set of another seed. Then, each mode ``--repeats`` times in
turn (after one untimed warm-up pass each):

(a) ``per_candidate``: ``Scorer.score`` of a one-row matrix, one call per candidate, on
    the first ``--single`` candidates;
(a') ``per_candidate_with_encoding``: as (a), with each candidate encoded on its own
    (``FeatureEncoder.encode`` of one candidate, then one call);
(b) ``batched``: ``Scorer.score`` of ``--batch`` candidates at a time (one call each);
(b') ``batched_with_encoding``: as (b), each batch encoded then scored;
(c) ``compiled_batched``: as (b), with the model compiled by lleaves
    (``Scorer.compile``, what the workers score with); its compile time is reported, and
    its predictions must agree with LightGBM's to 1e-6 on every candidate;
(c') ``compiled_per_candidate``: as (a), compiled.

Prints JSON and a table: median µs per candidate of each mode and the ratio of (a) to (b).

    .venv/bin/python -m bench.scoring [--batch 500] [--candidates 20000] [--single 2000]
        [--repeats 5] [--threads 0] [--registry DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np

from models.bootstrap import bootstrap, register
from models.features import FeatureMatrix
from models.inputs import Candidates, CustomerColumns
from models.registry import ModelRegistry
from models.scoring import Scorer
from models.training_set import simulated_training_set


def _scorer(args: argparse.Namespace, directory: Path) -> Scorer:
    if args.registry is not None:
        return Scorer.from_registry(ModelRegistry(args.registry), threads=args.threads)
    registry = ModelRegistry(directory)
    version = register(registry, bootstrap(args.train_rows, args.seed))
    return Scorer(registry.load(version), threads=args.threads)


def _us_per_candidate(run: Callable[[], int]) -> float:
    started = time.perf_counter()
    candidates = run()
    return (time.perf_counter() - started) * 1e6 / candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="predict threads, 0: default")
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--registry", type=Path, default=None, help="score its champion")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        scorer = _scorer(args, Path(tmp))
        registry = ModelRegistry(args.registry or Path(tmp))
        compiled = Scorer.from_registry(registry, scorer.version)
        started = time.perf_counter()
        compiled.compile(Path(tmp))
        compile_s = time.perf_counter() - started
    rows = simulated_training_set(args.candidates, args.seed + 1)
    customers: CustomerColumns = rows.customers
    candidates: Candidates = rows.candidates
    encoder = scorer.encoder
    matrix: FeatureMatrix = encoder.encode(customers, candidates)
    size: int = len(candidates)
    starts = range(0, size, args.batch)
    single: int = min(args.single, size)

    def per_candidate() -> int:
        for i in range(single):
            scorer.score(matrix[i : i + 1])
        return single

    def per_candidate_with_encoding() -> int:
        for i in range(single):
            scorer.score(encoder.encode(customers, candidates.take(slice(i, i + 1))))
        return single

    def batched() -> int:
        for start in starts:
            scorer.score(matrix[start : start + args.batch])
        return size

    def batched_with_encoding() -> int:
        for start in starts:
            part = candidates.take(slice(start, start + args.batch))
            scorer.score(encoder.encode(customers, part))
        return size

    def compiled_batched() -> int:
        for start in starts:
            compiled.score(matrix[start : start + args.batch])
        return size

    def compiled_per_candidate() -> int:
        for i in range(single):
            compiled.score(matrix[i : i + 1])
        return single

    modes: dict[str, Callable[[], int]] = {
        "per_candidate": per_candidate,
        "per_candidate_with_encoding": per_candidate_with_encoding,
        "batched": batched,
        "batched_with_encoding": batched_with_encoding,
        "compiled_batched": compiled_batched,
        "compiled_per_candidate": compiled_per_candidate,
    }
    batch_scores = np.concatenate([scorer.score(matrix[s : s + args.batch]) for s in starts])
    row_scores = np.array([scorer.score(matrix[i : i + 1])[0] for i in range(single)])
    compiled_scores = np.concatenate([compiled.score(matrix[s : s + args.batch]) for s in starts])
    compiled_difference = float(np.max(np.abs(compiled_scores - batch_scores)))
    if compiled_difference > 1e-6:
        raise SystemExit(f"the compiled model differs from LightGBM by {compiled_difference}")
    for run in modes.values():
        run()
    runs: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(args.repeats):
        for name, run in modes.items():
            runs[name].append(_us_per_candidate(run))

    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {
        "model": scorer.version,
        "lightgbm": lgb.__version__,
        "features": len(encoder.names),
        "trees": scorer.trees,
        "candidates": size,
        "single_calls": single,
        "batch": args.batch,
        "threads": args.threads,
        "repeats": args.repeats,
        "batch_equals_rows": bool(
            np.allclose(batch_scores[:single], row_scores, rtol=0, atol=1e-12)
        ),
        "compile_s": round(compile_s, 1),
        "compiled_max_difference": compiled_difference,
        "us_per_candidate_median": {name: round(us, 2) for name, us in medians.items()},
        "batched_over_compiled_batched": round(medians["batched"] / medians["compiled_batched"], 1),
        "per_candidate_over_batched": round(medians["per_candidate"] / medians["batched"], 1),
        "with_encoding_per_candidate_over_batched": round(
            medians["per_candidate_with_encoding"] / medians["batched_with_encoding"], 1
        ),
        "us_per_candidate_runs": {name: [round(us, 2) for us in rs] for name, rs in runs.items()},
    }
    print(json.dumps(result, indent=2))
    print()
    print("| scoring | µs per candidate (median) | × batched |")
    print("| --- | ---: | ---: |")
    for name, us in medians.items():
        print(f"| {name} | {us:,.2f} | {us / medians['batched']:,.1f} |")


if __name__ == "__main__":
    main()
