"""Which offer a customer gets for one trigger: the best by expected value, or now and
then another one, chosen at random and logged as exploration.

Priority follows the propensity-context-value-levers form::

    priority = propensity x value x context weight x lever

``propensity`` is the model's conversion probability for the offer in this context;
``value`` is what a conversion brings, net of what the offer costs
(:func:`net_value`); the context weight and the lever are the business's knobs (1 when
not set). The greedy choice is the highest priority (ties broken by campaign id, so the
choice never depends on the order candidates arrive in).

Exploration is epsilon-greedy: with probability ``exploration_share`` the offer is drawn
uniformly among the candidates with a positive priority. The draw is a hash of the
trigger, not a random generator, so replaying a trigger makes the same choice; the
probability the policy had of making the choice it made is logged with the decision, for
off-policy evaluation of another policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offers.campaigns import Campaign, OfferKind
from streams.decisions.policy import draw

EXPLORE_KEY = b"offers/explore/v1"
"""Key of the draw that decides whether a trigger explores."""
PICK_KEY = b"offers/explore-pick/v1"
"""Key of the draw that picks the offer of an exploring trigger."""


@dataclass(frozen=True, slots=True)
class Candidate:
    campaign_id: str
    propensity: float
    value_eur: float
    context_weight: float = 1.0
    lever: float = 1.0

    @property
    def priority(self) -> float:
        return self.propensity * max(self.value_eur, 0.0) * self.context_weight * self.lever


@dataclass(frozen=True, slots=True)
class Choice:
    chosen: Candidate
    exploration: bool
    """Whether the exploration draw made this choice (rather than the greedy rule)."""
    propensity: float
    """The probability the policy had of choosing ``chosen`` for this trigger."""
    ranked: tuple[Candidate, ...]
    """Every candidate, highest priority first."""


def net_value(campaign: Campaign, fare_eur: float | None) -> float:
    """What one conversion is worth to the business, net of the offer's cost: the
    campaign's ``priority_eur`` less the discount off the fare (percentage or fixed
    discount) or the offer's ``cost_eur`` (upgrade, onboard voucher, or a discount when
    the fare is unknown)."""
    offer = campaign.offer
    discounts = (OfferKind.PERCENT_DISCOUNT, OfferKind.FIXED_DISCOUNT)
    if offer.kind in discounts and fare_eur is not None:
        cost = offer.discount_eur(fare_eur)
    else:
        cost = offer.cost_eur
    return campaign.priority_eur - cost


def ranked(candidates: Sequence[Candidate]) -> tuple[Candidate, ...]:
    """Highest priority first; equal priorities by campaign id."""
    return tuple(sorted(candidates, key=lambda c: (-c.priority, c.campaign_id)))


def arbitrate(
    candidates: Sequence[Candidate], *, exploration_share: float, draw_key: str
) -> Choice | None:
    """The offer for one trigger, or None when no candidate has a positive priority.

    ``draw_key`` names the trigger (its event id and customer): the same key always
    draws the same way.
    """
    if not 0.0 <= exploration_share < 1.0:
        raise ValueError(f"exploration_share must be in [0, 1), not {exploration_share}")
    order = ranked(candidates)
    worth = [c for c in order if c.priority > 0.0]
    if not worth:
        return None
    greedy = worth[0]
    n = len(worth)
    explore = n > 1 and draw(EXPLORE_KEY, draw_key) < exploration_share
    if explore:
        chosen = worth[min(int(draw(PICK_KEY, draw_key) * n), n - 1)]
    else:
        chosen = greedy
    share = exploration_share if n > 1 else 0.0
    propensity = share / n + (1.0 - share if chosen is greedy else 0.0)
    return Choice(chosen=chosen, exploration=explore, propensity=propensity, ranked=order)
