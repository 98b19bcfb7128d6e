"""Conversions beside the social touchpoints that preceded them."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from report_factories import at, booking, decision, response, social_post

from offers.contracts import Event
from offers.reports import campaign_report, fold_campaign
from offers.reports.social import SocialSplit, Touchpoint, TouchpointLog, touchpoint_of

DAY = 24.0
WINDOW = timedelta(days=7)


def split(conversions: int, after: int, mention: int = 0, reply: int = 0, click: int = 0):
    return SocialSplit(
        conversions=conversions,
        after_social=after,
        by_touchpoint={
            Touchpoint.MENTION: mention,
            Touchpoint.REPLY: reply,
            Touchpoint.CLICK: click,
        },
    )


def test_what_is_a_touchpoint() -> None:
    assert touchpoint_of(social_post("c1", 0)) is Touchpoint.MENTION
    assert touchpoint_of(social_post("c1", 0, "Livorno harbour at dawn")) is Touchpoint.MENTION
    assert touchpoint_of(social_post("c1", 0, "Lovely weather for a walk today")) is None
    assert touchpoint_of(response("d1", "click", channel="whatsapp")) is Touchpoint.CLICK
    assert touchpoint_of(response("d1", "reply", channel="messenger")) is Touchpoint.REPLY
    assert touchpoint_of(response("d1", "click", channel="sms")) is None
    assert touchpoint_of(response("d1", "reply", channel="push")) is None
    assert touchpoint_of(response("d1", "redeem", channel="whatsapp")) is None
    assert touchpoint_of(booking("b1", "c1", 1)) is None


def test_the_window_counts_touchpoints_before_the_booking_only() -> None:
    log = TouchpointLog()
    log.add(social_post("c1", 10))
    assert log.kinds_before("c1", at(10), WINDOW) == {Touchpoint.MENTION}
    assert log.kinds_before("c1", at(10 + 7 * DAY), WINDOW) == {Touchpoint.MENTION}
    assert log.kinds_before("c1", at(10 + 7 * DAY + 0.01), WINDOW) == set()
    assert log.kinds_before("c1", at(9.9), WINDOW) == set()
    assert log.kinds_before("c2", at(11), WINDOW) == set()


def test_a_campaigns_conversions_split_by_the_touchpoints_before_them() -> None:
    events: list[Event] = [
        # treated: c1 posts then books with the offer; c2 clicks on WhatsApp and replies
        # on Messenger, then books without it; c3 books with no touchpoint; c4 does not book
        decision("d1", "c1", "send", 0),
        decision("d2", "c2", "send", 0),
        decision("d3", "c3", "send", 0),
        decision("d4", "c4", "send", 0),
        social_post("c1", 1),
        booking("b1", "c1", 5, decision_id="d1"),
        response("d2", "click", 2, customer="c2", channel="whatsapp"),
        response("d2", "reply", 3, customer="c2", channel="messenger"),
        booking("b2", "c2", 6),
        booking("b3", "c3", 6, decision_id="d3"),
        response("d4", "click", 1, customer="c4", channel="whatsapp"),
        # control: c5 posts about the weather only (no subject), then books; c6 posted
        # about Olbia more than the window before booking; c7 books after an SMS click
        decision("d5", "c5", "holdout", 0),
        decision("d6", "c6", "holdout", 8 * DAY),
        decision("d7", "c7", "holdout", 0),
        social_post("c5", 1, "Lovely weather for a walk today"),
        booking("b5", "c5", 2),
        social_post("c6", 0.5, "Olbia was wonderful"),
        booking("b6", "c6", 8 * DAY + 1),
        response("x7", "click", 1, customer="c7", channel="sms"),
        booking("b7", "c7", 2),
    ]
    tally = fold_campaign("camp-summer", events)
    assert tally.social.treated == split(3, 2, mention=1, reply=1, click=1)
    assert tally.social.control == split(3, 0)
    assert tally.social.offer_driven == split(2, 1, mention=1)
    assert tally.social.treated.conversions == tally.treated.conversions
    assert tally.social.control.conversions == tally.control.conversions
    assert tally.social.offer_driven.conversions == tally.funnel.converted

    report = campaign_report("camp-summer", events).model_dump(mode="json")
    assert report["social"]["window"] == "P7D"
    assert report["social"]["channels"] == ["messenger", "whatsapp"]
    assert report["social"]["treated"] == {
        "conversions": 3,
        "after_social": 2,
        "by_touchpoint": {"mention": 1, "reply": 1, "click": 1},
    }


def test_an_offer_driven_conversion_is_counted_at_its_first_booking_once() -> None:
    events: list[Event] = [
        decision("d1", "c1", "send", 0),
        booking("b1", "c1", 10, decision_id="d1"),
        booking("b2", "c1", 30, decision_id="d1"),
        social_post("c1", 20),
        social_post("c1", 20),
    ]
    social = fold_campaign("camp-summer", events).social
    assert social.offer_driven == split(1, 0)
    assert social.treated == split(1, 0)


_HOURS = st.integers(min_value=0, max_value=20 * 24)


@st.composite
def _histories(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for n in range(draw(st.integers(1, 8))):
        customer = f"c{n}"
        outcome = draw(st.sampled_from(["send", "holdout"]))
        decided = draw(_HOURS)
        events.append(decision(f"d{n}", customer, outcome, decided))
        for k in range(draw(st.integers(0, 3))):
            events.append(
                booking(
                    f"b{n}-{k}",
                    customer,
                    draw(_HOURS),
                    decision_id=f"d{n}" if draw(st.booleans()) else None,
                )
            )
        for k in range(draw(st.integers(0, 3))):
            hours = draw(_HOURS)
            kind = draw(st.sampled_from(["post", "click", "reply"]))
            channel = draw(st.sampled_from(["sms", "whatsapp", "messenger"]))
            if kind == "post":
                events.append(social_post(customer, hours, n=k))
            else:
                events.append(
                    response(f"d{n}", kind, hours, n=k, customer=customer, channel=channel)
                )
    return events


def _reference(events: list[Event], conversions: list[tuple[str, float]]) -> tuple[int, int]:
    """Conversions, and those with a touchpoint of the customer in the 7 days before,
    by a plain scan of every event."""
    after = 0
    for customer, booked in conversions:
        for event in events:
            if getattr(event, "customer_id", None) != customer:
                continue
            kind = touchpoint_of(event)
            moment = (event.event_time - at(0)).total_seconds() / 3600
            if kind is not None and booked - 7 * DAY <= moment <= booked:
                after += 1
                break
    return len(conversions), after


@settings(max_examples=150, deadline=None)
@given(_histories())
def test_the_group_splits_equal_a_plain_scan(events: list[Event]) -> None:
    tally = fold_campaign("camp-summer", events)
    converted: dict[str, list[tuple[str, float]]] = {"send": [], "holdout": []}
    for d in (e for e in events if e.type == "offer_decision"):
        decided = (d.event_time - at(0)).total_seconds() / 3600
        times = sorted(
            (b.event_time - at(0)).total_seconds() / 3600
            for b in events
            if b.type == "booking" and b.customer_id == d.customer_id
        )
        first = next((t for t in times if decided <= t <= decided + 7 * DAY), None)
        if first is not None:
            converted[d.outcome.value].append((d.customer_id, first))
    treated, control = tally.social.treated, tally.social.control
    assert (treated.conversions, treated.after_social) == _reference(events, converted["send"])
    assert (control.conversions, control.after_social) == _reference(events, converted["holdout"])
    for group in (treated, control, tally.social.offer_driven):
        assert max(group.by_touchpoint.values()) <= group.after_social <= group.conversions
