"""The message sent for a decision: its text, its redemption link, where it goes.

A decision carries pseudonymous ids only; the customer's address, language and
personalisation values are read at send time (:class:`Recipient`) and never travel on a
topic. :func:`outbound_message` renders the campaign's template for the decision's
channel in the customer's language and appends the decision's redemption link, signed
and expiring with the offer (:mod:`streams.delivery.redemption`).

Which template: the customer's language, else English (read by most foreign
passengers), else Italian (the operator's own). A campaign that runs has a template for
every channel in every language it targets, so the fallbacks only serve customers whose
language the campaign does not list. No template at all is a :class:`MessageError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from offers.campaigns import Campaign, MessageTemplate, render
from offers.contracts import Channel, DecisionOutcome, Language, OfferDecision
from offers.contracts.base import aware_utc
from offers.errors import OffersError
from offers.settings import Settings
from streams.delivery.redemption import redemption_link, redemption_token

STATUS_CALLBACK_PATH = "/v1/webhooks/twilio/status"
"""The API's route for Twilio's status callbacks (``offers_api.routes.webhooks``); the
decision and the customer travel in its query string."""
FALLBACK_LANGUAGES: tuple[Language, ...] = (Language.EN, Language.IT)
"""Languages tried, in order, when the campaign has no template in the customer's."""
CALLBACK_CHANNELS = frozenset({Channel.SMS})
"""Channels whose provider takes a status callback URL per message. WhatsApp statuses
reach the webhook subscribed for the app, carrying the message's callback data;
Messenger sends none for page messages."""
CALLBACK_DATA_CHANNELS = frozenset({Channel.WHATSAPP})
"""Channels whose provider echoes callback data in its status webhooks."""


class MessageError(OffersError):
    """No message can be made for the decision (not a send, no template)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where and how to reach the customer of a decision."""

    address: str
    """An E.164 number for SMS and WhatsApp, a page-scoped user ID for Messenger."""
    language: Language
    values: Mapping[str, str] = field(default_factory=dict)
    """Personalisation values (``name``, ``port``, ``sailing``, ``fare``, ``discount``,
    ``expiry``); those the template uses must be present."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message, ready for a channel adapter.

    ``valid_until`` is when the message stops being worth sending (see
    :func:`streams.delivery.policy.validity_period`): an adapter sends nothing after it,
    and gives the SMS provider what is left of it as the validity period, so a retry
    never stretches it. ``status_callback`` is where the provider reports the message's
    statuses, for channels that take one per message.
    """

    decision_id: str
    channel: Channel
    address: str
    body: str
    valid_until: datetime
    status_callback: str | None = None
    callback_data: str | None = None
    """What the provider echoes in the message's status webhooks (WhatsApp's
    ``biz_opaque_callback_data``): ``"{decision_id} {customer_id}"``."""

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise ValueError("a message needs an address")
        if not self.body.strip():
            raise ValueError("a message needs a body")
        aware_utc(self.valid_until, "valid_until")


def outbound_message(
    decision: OfferDecision,
    campaign: Campaign,
    recipient: Recipient,
    *,
    valid_until: datetime,
    settings: Settings,
) -> OutboundMessage:
    """The message of ``decision``: ``campaign``'s template for the decision's channel,
    rendered with the recipient's values, then a line with the redemption link.

    Raises :class:`MessageError` when the decision is not a send of ``campaign`` with a
    channel and an expiry, or the campaign has no template for the channel;
    :class:`offers.campaigns.RenderError` when a value the template uses is missing.
    """
    channel, expires_at = _sendable(decision, campaign)
    template = template_for(campaign, channel, recipient.language)
    token = redemption_token(decision.decision_id, expires_at, settings.redemption_secret)
    link = redemption_link(settings.public_base_url, token)
    body = f"{render(template, recipient.values)}\n{link}"
    callback = None
    if channel in CALLBACK_CHANNELS:
        callback = status_callback_url(
            settings.public_base_url, decision.decision_id, decision.customer_id
        )
    data = None
    if channel in CALLBACK_DATA_CHANNELS:
        data = callback_data(decision.decision_id, decision.customer_id)
    return OutboundMessage(
        decision_id=decision.decision_id,
        channel=channel,
        address=recipient.address,
        body=body,
        valid_until=valid_until,
        status_callback=callback,
        callback_data=data,
    )


def template_for(campaign: Campaign, channel: Channel, language: Language) -> MessageTemplate:
    """The campaign's template for ``channel`` in ``language``, else in the first of
    :data:`FALLBACK_LANGUAGES` it has; :class:`MessageError` when it has none of them."""
    for candidate in (language, *FALLBACK_LANGUAGES):
        template = campaign.template_for(channel, candidate)
        if template is not None:
            return template
    tried = ", ".join(dict.fromkeys(c.value for c in (language, *FALLBACK_LANGUAGES)))
    raise MessageError(f"campaign {campaign.id} has no {channel.value} template in any of: {tried}")


def status_callback_url(public_base_url: str, decision_id: str, customer_id: str) -> str:
    """Where Twilio posts the statuses of the message of ``decision_id``."""
    query = urlencode({"decision_id": decision_id, "customer_id": customer_id})
    return f"{public_base_url.rstrip('/')}{STATUS_CALLBACK_PATH}?{query}"


def callback_data(decision_id: str, customer_id: str) -> str:
    """The data a provider echoes in status webhooks: the decision and its customer."""
    return f"{decision_id} {customer_id}"


def _sendable(decision: OfferDecision, campaign: Campaign) -> tuple[Channel, datetime]:
    if decision.outcome is not DecisionOutcome.SEND:
        raise MessageError(
            f"decision {decision.decision_id} is {decision.outcome.value}, not a send"
        )
    if decision.campaign_id != campaign.id:
        raise MessageError(
            f"decision {decision.decision_id} is for campaign {decision.campaign_id}, "
            f"not {campaign.id}"
        )
    if decision.channel is None or decision.expires_at is None:
        raise MessageError(f"decision {decision.decision_id} has no channel or no expiry")
    return decision.channel, decision.expires_at
