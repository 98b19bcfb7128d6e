"""Does model-driven targeting pay? Policies compared on the same logged moments, at the
same send volume, by the simulator's truth.

Each logged decision is a moment at which the engine could send one offer: a trigger,
its customer and the campaigns eligible then. A policy picks one offer per moment (the
engine's arbitration: the highest ``probability x net value``, :func:`greedy_choice`) and
ranks the moments by that priority; every policy sends to its best ``volume`` moments,
the same number for all. What each message would have done comes from the ground truth
(:mod:`simulators.oracle`): its true chance of causing a booking, and the revenue of that
booking net of the discount. Summing those expectations rather than one draw of them
removes the luck of the draw: the difference between policies is the difference of what
they chose.

The policies:

- **rules**: no model; every offer is as likely to convert, so the one worth the most
  wins, and moments are ranked by that worth (ties in a seeded random order);
- a **model** policy per scorer given (the bootstrap model, the retrained one);
- **oracle**: the true chances; no policy can do better on this ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from models.off_policy import greedy_choice
from simulators.oracle import CandidateTruth

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PolicyResult:
    policy: str
    messages: int
    conversions: float
    """Expected bookings the messages cause (all of them incremental)."""
    incremental_revenue_eur: float

    @property
    def conversions_per_message(self) -> float:
        return self.conversions / self.messages if self.messages else 0.0

    @property
    def revenue_per_message_eur(self) -> float:
        return self.incremental_revenue_eur / self.messages if self.messages else 0.0


def compare_policies(
    rows: pd.DataFrame,
    truth: CandidateTruth,
    scores: Mapping[str, FloatArray],
    *,
    volume: int,
    seed: int = 7,
) -> list[PolicyResult]:
    """Rules, each model of ``scores`` (a probability per row of ``rows``) and the oracle,
    each sending ``volume`` messages among the decisions of ``rows``."""
    decisions = pd.unique(rows["decision_id"])
    if not 0 < volume <= len(decisions):
        raise ValueError(f"volume must be 1..{len(decisions)} (the moments), got {volume}")
    rng = np.random.Generator(np.random.PCG64(seed))
    tie_break = rng.permutation(len(rows))
    policies: dict[str, FloatArray] = {"rules": np.ones(len(rows))}
    policies.update(scores)
    policies["oracle"] = truth.uplift
    results = []
    for name, probability in policies.items():
        picked = np.flatnonzero(greedy_choice(rows, probability))
        value = np.maximum(rows["net_value_eur"].to_numpy(dtype=np.float64), 0.0)
        priority = probability[picked] * value[picked]
        order = np.lexsort((tie_break[picked], -priority))
        sent = picked[order[:volume]]
        results.append(
            PolicyResult(
                policy=name,
                messages=len(sent),
                conversions=float(truth.uplift[sent].sum()),
                incremental_revenue_eur=float(
                    (truth.uplift[sent] * truth.net_revenue_eur[sent]).sum()
                ),
            )
        )
    return results


def comparison_table(results: list[PolicyResult]) -> str:
    """The results as a Markdown table, with each policy's ratio to rules."""
    rules = next((r for r in results if r.policy == "rules"), None)
    lines = [
        "| targeting | messages | conversions | conversions per message | vs rules "
        "| incremental revenue (EUR) | per message (EUR) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ratio = (
            f"{r.conversions_per_message / rules.conversions_per_message:.2f}x"
            if rules is not None and rules.conversions_per_message > 0
            else ""
        )
        lines.append(
            f"| {r.policy} | {r.messages:,} | {r.conversions:,.1f} | "
            f"{r.conversions_per_message:.4f} | {ratio} | {r.incremental_revenue_eur:,.0f} | "
            f"{r.revenue_per_message_eur:.2f} |"
        )
    return "\n".join(lines)
