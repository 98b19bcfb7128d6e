"""The simulator's truth about any candidate offer of a logged decision.

The responder answers a delivered offer by the ground-truth model: the offer causes a
booking with the chance of its true uplift in its situation (:func:`simulators.reaction.react`).
The same model says what any other candidate of the same decision would have done, had
it been chosen: the situation is the decision's (its trigger, its moment, the draws of
its id), the offer and channel the candidate's. For the chosen candidate the answer is
exactly the chance the responder drew against.

:func:`candidate_truth` gives, per candidate row, that chance (the expected caused, hence
incremental, conversions of sending it) and the revenue such a booking brings net of the
offer's discount: what the evaluation report calls the oracle, and what the policy
comparison counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from offers.campaigns import Campaign
from offers.contracts import Channel, OfferDecision
from offers.reports.source import discount_terms
from simulators.customers import Customers, customer_index, generate_customers
from simulators.reaction import ReactionRates, react
from simulators.responder import booking_price
from simulators.routes import all_routes

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CandidateTruth:
    uplift: FloatArray
    """The chance each candidate, sent, causes a booking."""
    net_revenue_eur: FloatArray
    """The price of that booking less the offer's discount."""


def simulated_customers(count: int, seed: int) -> Customers:
    """The customers of a simulated world of ``count`` customers drawn from ``seed``."""
    return generate_customers(count, seed, all_routes())


def candidate_truth(
    rows: pd.DataFrame,
    decisions: Mapping[str, OfferDecision],
    campaigns: Mapping[tuple[str, int], Campaign],
    customers: Customers,
    rates: ReactionRates,
) -> CandidateTruth:
    """The truth of each row (``decision_id``, ``campaign_id``, ``revision``,
    ``channel``) of logged decisions of simulated customers."""
    routes = all_routes()
    uplift = np.empty(len(rows))
    revenue = np.empty(len(rows))
    columns = rows[["decision_id", "campaign_id", "revision", "channel"]].itertuples(index=False)
    for k, (decision_id, campaign_id, revision, channel) in enumerate(columns):
        decision = decisions[decision_id]
        campaign = campaigns[(campaign_id, int(revision))]
        sent = decision.model_copy(update={"campaign_id": campaign_id, "channel": Channel(channel)})
        index = customer_index(decision.customer_id)
        reaction = react(sent, campaign, customers, index, routes, rates)
        price = booking_price(customers, index, reaction.sailing)
        uplift[k] = reaction.uplift
        revenue[k] = price - discount_terms(campaign).cost_of(price)
    return CandidateTruth(uplift, revenue)
