"""What ``offers demo`` prints: the flow per topic checked against the broker's offsets,
the worker's counters, the decisions per outcome, reason and campaign, and, for the
closed loop, each campaign's funnel and its incremental conversions beside the
simulator's truth. Plain functions over counts, so they are tested without the stack."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from offers.closed_loop import CampaignResult
from offers.contracts import DecisionOutcome, OfferDecision
from offers.reports.intervals import Estimate
from offers.topics import DEAD_LETTER, DECISIONS, GEOFENCE, TRIGGERS

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

COUNTERS: dict[str, tuple[str, ...]] = {
    "offers_stream_events_total": ("topic", "outcome"),
    "offers_feature_rows_written_total": ("push_source",),
    "offers_geofence_transitions_total": ("action",),
    "offers_trigger_signals_total": ("trigger",),
    "offers_decisions_total": ("outcome", "reason"),
}
"""The worker's counters the demo reads, with the labels that tell their values apart."""
DECISIONS_COUNTER = "offers_decisions_total"
SIGNALS_COUNTER = "offers_trigger_signals_total"
OUTCOMES: tuple[str, ...] = tuple(outcome.value for outcome in DecisionOutcome)
NO_CAMPAIGN = "(no campaign)"


def flow_table(produced: Mapping[str, int], before: dict[str, int], after: dict[str, int]) -> str:
    """Records per topic: expected (``produced``) against what the broker's offsets say;
    a topic without an expectation is shown, not checked."""
    rows = [f"{'topic':<26}{'produced':>10}{'in Kafka':>10}  check"]
    for topic in sorted(after):
        landed = after[topic] - before.get(topic, 0)
        if topic not in produced:
            rows.append(f"{topic:<26}{'-':>10}{landed:>10}  (written by the loop's services)")
            continue
        made = produced[topic]
        rows.append(f"{topic:<26}{made:>10}{landed:>10}  {'ok' if made == landed else 'MISMATCH'}")
    return "\n".join(rows)


def summary(samples: Samples) -> dict[str, dict[str, int]]:
    """The worker's counters: input records by topic and outcome, rows written by push
    source, geofence transitions by action, trigger signals by trigger, decisions by
    outcome and reason."""
    found: dict[str, dict[str, int]] = {}
    for (name, labels), value in samples.items():
        if name in COUNTERS:
            by = dict(labels)
            label = "/".join(by[key] for key in COUNTERS[name])
            found.setdefault(name.removesuffix("_total"), {})[label] = int(value)
    return found


def counter_total(samples: Samples, name: str, **labels: str) -> int:
    """The sum of the counter ``name`` over the samples with these label values."""
    wanted = set(labels.items())
    return int(
        sum(value for (n, got), value in samples.items() if n == name and wanted <= set(got))
    )


def features_table(samples: Samples) -> str:
    """The worker's counters but its decisions (shown from Kafka, per decision)."""
    counts = summary(samples)
    counts.pop(DECISIONS_COUNTER.removesuffix("_total"), None)
    rows = [f"{'worker':<48}{'count':>8}"]
    for metric in sorted(counts):
        for label, value in sorted(counts[metric].items()):
            rows.append(f"{metric.removeprefix('offers_') + ' ' + label:<48}{value:>8}")
    return "\n".join(rows)


def expected_flow(
    produced: Mapping[str, int], samples: Samples, written: Mapping[str, int]
) -> dict[str, int]:
    """What each topic should have received: the simulator's events, the worker's own
    records (by its counters) and the state records the demo ``written``."""
    expected = dict(produced)
    for topic, count in written.items():
        expected[topic] = expected.get(topic, 0) + count
    worker = {
        GEOFENCE.name: counter_total(samples, "offers_geofence_transitions_total"),
        TRIGGERS.name: counter_total(samples, SIGNALS_COUNTER),
        DECISIONS.name: counter_total(samples, DECISIONS_COUNTER),
        DEAD_LETTER.name: counter_total(
            samples, "offers_stream_events_total", outcome="dead_lettered"
        ),
    }
    for topic, count in worker.items():
        expected[topic] = expected.get(topic, 0) + count
    return expected


# decisions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionCounts:
    """Decisions read, and the distinct ones counted by (outcome, reason) and by
    (campaign id, outcome); the campaign id is empty when the decision names none."""

    records: int
    by_reason: dict[tuple[str, str], int]
    by_campaign: dict[tuple[str, str], int]

    @property
    def distinct(self) -> int:
        return sum(self.by_reason.values())


def count_decisions(decisions: Iterable[OfferDecision]) -> DecisionCounts:
    """The decisions counted once per decision id (the first record of each)."""
    seen: set[str] = set()
    records = 0
    by_reason: Counter[tuple[str, str]] = Counter()
    by_campaign: Counter[tuple[str, str]] = Counter()
    for decision in decisions:
        records += 1
        if decision.decision_id in seen:
            continue
        seen.add(decision.decision_id)
        by_reason[decision.outcome.value, decision.reason] += 1
        by_campaign[decision.campaign_id or "", decision.outcome.value] += 1
    return DecisionCounts(records, dict(by_reason), dict(by_campaign))


def reasons_table(counts: DecisionCounts) -> str:
    """Distinct decisions per outcome (in the contract's order) and reason (most first)."""
    rows = [f"{'outcome':<12}{'reason':<30}{'decisions':>10}"]
    ordered = sorted(
        counts.by_reason.items(), key=lambda item: (OUTCOMES.index(item[0][0]), -item[1], item[0])
    )
    for (outcome, reason), count in ordered:
        rows.append(f"{outcome:<12}{reason:<30}{count:>10}")
    rows.append(f"{'total':<42}{counts.distinct:>10}")
    return "\n".join(rows)


def campaign_label(campaign_id: str, names: Mapping[str, str]) -> str:
    return names.get(campaign_id, campaign_id) if campaign_id else NO_CAMPAIGN


def campaigns_table(counts: DecisionCounts, names: Mapping[str, str]) -> str:
    """Distinct decisions per campaign (by name when known) and outcome; the decisions
    without a campaign last."""
    campaigns = sorted(
        {campaign for campaign, _ in counts.by_campaign},
        key=lambda c: (not c, campaign_label(c, names)),
    )
    rows = [f"{'campaign':<28}" + "".join(f"{outcome:>11}" for outcome in OUTCOMES)]
    for campaign in campaigns:
        cells = "".join(f"{counts.by_campaign.get((campaign, o), 0):>11}" for o in OUTCOMES)
        rows.append(f"{campaign_label(campaign, names)[:27]:<28}{cells}")
    return "\n".join(rows)


def decisions_json(counts: DecisionCounts, names: Mapping[str, str]) -> dict[str, Any]:
    by_reason: dict[str, dict[str, int]] = {}
    for (outcome, reason), count in sorted(counts.by_reason.items()):
        by_reason.setdefault(outcome, {})[reason] = count
    by_campaign: dict[str, dict[str, Any]] = {}
    for (campaign, outcome), count in sorted(counts.by_campaign.items()):
        entry = by_campaign.setdefault(
            campaign or "none", {"name": campaign_label(campaign, names), "outcomes": {}}
        )
        entry["outcomes"][outcome] = count
    return {
        "records": counts.records,
        "distinct": counts.distinct,
        "by_reason": by_reason,
        "by_campaign": by_campaign,
    }


# the closed loop -------------------------------------------------------------------------

FUNNEL_COLUMNS = (
    "decided", "held_out", "suppressed", "sent", "delivered", "clicked", "redeemed", "converted",
)  # fmt: skip


def funnel_table(results: Iterable[CampaignResult]) -> str:
    """Each campaign's funnel, distinct decisions at every step, its revenue, and how many
    of its converted offers followed a social touchpoint of the customer."""
    rows = [
        f"{'campaign':<24}"
        + "".join(f"{c:>11}" for c in FUNNEL_COLUMNS)
        + f"{'revenue':>12}{'after social':>14}"
    ]
    for result in results:
        funnel = result.report.funnel
        cells = "".join(f"{getattr(funnel, c):>11}" for c in FUNNEL_COLUMNS)
        social = result.report.social.offer_driven.after_social
        rows.append(
            f"{result.campaign.name[:23]:<24}{cells}{funnel.revenue_eur:>12,.0f}{social:>14}"
        )
    return "\n".join(rows)


def _interval(estimate: Estimate | None, digits: int = 1) -> str:
    if estimate is None:
        return "n/a"
    return f"{estimate.value:.{digits}f} [{estimate.low:.{digits}f}, {estimate.high:.{digits}f}]"


def lift_table(results: Iterable[CampaignResult]) -> str:
    """Each campaign's treated and holdout customers and conversion rates, its
    incremental conversions (95 % interval) beside the simulator's true ones, and ROI."""
    rows = [
        f"{'campaign':<24}{'treated':>9}{'holdout':>9}{'conv. treated':>15}"
        f"{'conv. holdout':>15}  {'incremental conversions':<27}{'true':>6}  {'inside':<7}"
        f"{'ROI':<24}"
    ]
    for result in results:
        lift = result.report.incrementality
        treated, control = lift.treated, lift.control
        estimate = lift.incremental_conversions
        truth = result.truth.incremental_conversions
        inside = (
            "n/a" if estimate is None else "yes" if estimate.low <= truth <= estimate.high else "NO"
        )
        rows.append(
            f"{result.campaign.name[:23]:<24}{treated.customers:>9}{control.customers:>9}"
            f"{_rate(treated.conversion_rate):>15}{_rate(control.conversion_rate):>15}  "
            f"{_interval(estimate):<27}{truth:>6}  {inside:<7}{_interval(lift.roi, 2):<24}"
        )
    return "\n".join(rows)


def _rate(estimate: Estimate | None) -> str:
    return "n/a" if estimate is None else f"{100 * estimate.value:.2f} %"


def loop_json(results: Iterable[CampaignResult]) -> list[dict[str, Any]]:
    return [
        {
            "campaign": result.campaign.name,
            "campaign_id": result.campaign.id,
            "funnel": result.report.funnel.model_dump(mode="json"),
            "incrementality": result.report.incrementality.model_dump(mode="json"),
            "social": result.report.social.model_dump(mode="json"),
            "truth": {
                "treated": result.truth.treated,
                "caused": result.truth.caused,
                "incremental_conversions": result.truth.incremental_conversions,
                "expected_caused": result.truth.expected_caused,
            },
        }
        for result in results
    ]
