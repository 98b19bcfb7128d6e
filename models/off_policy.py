"""What another policy would have got from the logged decisions: off-policy estimates of
conversions per message.

The engine logs, for each decision, the candidates it weighed, the one it chose and the
probability its policy had of choosing it (``logged_propensity``: epsilon-greedy, so
every eligible offer has a chance). A new policy (:func:`greedy_choice`: the engine's
arbitration with another model's scores) is judged on the decisions where it would have
chosen what was logged, each weighted by one over the logged probability:

- **IPS** (inverse propensity scoring): the mean over all decisions of
  ``1[new choice = logged] * reward / propensity``; unbiased, noisy;
- **SNIPS** (self-normalised): the same sum divided by the sum of the weights; a little
  biased, much steadier;
- **DR** (doubly robust): a model's predicted reward for the new choice, corrected by
  the weighted error of that model on the decisions that match; unbiased if either the
  propensities or the reward model are right.

Every decision here is a sent message, so the reward (a conversion) per decision is the
conversions per message. Intervals are percentiles of a seeded bootstrap over decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
RESAMPLES = 1_000
ESTIMATORS = ("IPS", "SNIPS", "DR")


@dataclass(frozen=True, slots=True)
class Estimate:
    policy: str
    estimator: str
    value: float
    low: float
    high: float
    decisions: int
    matched: int
    """Decisions where the policy would have chosen the logged offer."""


def greedy_choice(rows: pd.DataFrame, scores: FloatArray) -> BoolArray:
    """Per row, whether a greedy policy with ``scores`` picks it: the highest
    ``score x net value`` of its decision (ties to the lowest campaign id), none when no
    candidate is worth anything. ``rows`` has ``decision_id``, ``campaign_id`` and
    ``net_value_eur``, the candidates of a decision next to one another."""
    priority = scores * np.maximum(rows["net_value_eur"].to_numpy(dtype=np.float64), 0.0)
    frame = pd.DataFrame(
        {
            "decision": rows["decision_id"].to_numpy(),
            "campaign": rows["campaign_id"].to_numpy(),
            "priority": priority,
            "k": np.arange(len(rows)),
        }
    )
    ranked = frame.sort_values(
        ["decision", "priority", "campaign"], ascending=[True, False, True], kind="stable"
    )
    best = ranked.drop_duplicates("decision", keep="first")
    best = best[best["priority"] > 0.0]
    picked = np.zeros(len(rows), dtype=np.bool_)
    picked[best["k"].to_numpy()] = True
    return picked


def estimates(
    rows: pd.DataFrame,
    policy: str,
    picked: BoolArray,
    predicted: FloatArray,
    *,
    seed: int = 7,
) -> list[Estimate]:
    """IPS, SNIPS and DR estimates of the conversions per message of the policy that
    picks the rows ``picked``, on the decisions of ``rows``; ``predicted`` is the reward
    model (a conversion probability per row) that DR corrects. ``rows`` has
    ``decision_id``, ``chosen``, ``label`` and ``logged_propensity``."""
    decisions = rows["decision_id"].to_numpy()
    chosen = rows["chosen"].to_numpy(dtype=np.bool_)
    order = pd.Index(pd.unique(decisions))
    at = order.get_indexer(decisions)
    count = len(order)
    logged = np.zeros(count, dtype=np.bool_)
    reward = np.zeros(count)
    propensity = np.ones(count)
    logged_k = np.flatnonzero(chosen)
    reward[at[logged_k]] = rows["label"].to_numpy(dtype=np.float64)[logged_k]
    propensity[at[logged_k]] = rows["logged_propensity"].to_numpy(dtype=np.float64)[logged_k]
    logged[at[logged_k]] = True
    match = np.zeros(count, dtype=np.bool_)
    match[at[np.flatnonzero(picked & chosen)]] = True
    match &= logged
    model_new = np.zeros(count)
    model_new[at[np.flatnonzero(picked)]] = np.asarray(predicted)[picked]
    model_logged = np.zeros(count)
    model_logged[at[logged_k]] = np.asarray(predicted)[logged_k]
    weight = np.where(match, 1.0 / propensity, 0.0)
    ips_terms = weight * reward
    dr_terms = model_new + weight * (reward - model_logged)

    def ips(index: npt.NDArray[np.intp]) -> FloatArray:
        return np.asarray(ips_terms[index].mean(axis=-1), dtype=np.float64)

    def snips(index: npt.NDArray[np.intp]) -> FloatArray:
        total = weight[index].sum(axis=-1)
        return np.asarray(
            np.divide(
                ips_terms[index].sum(axis=-1), total, out=np.zeros_like(total), where=total > 0
            ),
            dtype=np.float64,
        )

    def dr(index: npt.NDArray[np.intp]) -> FloatArray:
        return np.asarray(dr_terms[index].mean(axis=-1), dtype=np.float64)

    rng = np.random.Generator(np.random.PCG64(seed))
    resampled = rng.integers(0, count, size=(RESAMPLES, count)) if count else np.empty((0, 0), int)
    everything = np.arange(count)
    made = []
    for name, statistic in (("IPS", ips), ("SNIPS", snips), ("DR", dr)):
        if count == 0:
            continue
        spread = statistic(resampled)
        low, high = np.percentile(spread, [2.5, 97.5])
        made.append(
            Estimate(
                policy,
                name,
                float(statistic(everything)),
                float(low),
                float(high),
                count,
                int(match.sum()),
            )
        )
    return made


def on_policy(rows: pd.DataFrame, policy: str = "logged", *, seed: int = 7) -> Estimate:
    """The logged policy's own conversions per message (a plain mean, with its bootstrap
    interval), beside which the estimates of other policies are read."""
    chosen = rows["chosen"].to_numpy(dtype=np.bool_)
    reward = rows["label"].to_numpy(dtype=np.float64)[chosen]
    rng = np.random.Generator(np.random.PCG64(seed))
    count = len(reward)
    if count == 0:
        return Estimate(policy, "mean", float("nan"), float("nan"), float("nan"), 0, 0)
    spread = reward[rng.integers(0, count, size=(RESAMPLES, count))].mean(axis=1)
    low, high = np.percentile(spread, [2.5, 97.5])
    return Estimate(policy, "mean", float(reward.mean()), float(low), float(high), count, count)
