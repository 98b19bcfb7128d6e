"""Replies an application gives to an inbound SMS, in TwiML: the sandbox sends each
``<Message>`` of the webhook's answer as Twilio does, so that a confirmation after STOP,
or an answer to HELP, reaches the customer's phone.

The answer is read defensively: only the first :data:`MAX_ANSWER_BYTES` bytes, nothing
with a DOCTYPE or an entity declaration, and anything that is not a well-formed
``<Response>`` document is taken as no reply. Each ``<Message>`` gives its text (or that
of its ``<Body>``) and may name ``to`` and ``from``; by default it goes to the sender of
the inbound SMS, from the number it was sent to. A reply without text, with an address
that is not E.164, or over 1,600 characters is dropped, as Twilio drops it (reporting
the error in its debugger, not to the application).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from simulators.sandbox.callbacks import MAX_ANSWER_BYTES, WebhookAnswer, now
from simulators.sandbox.state import Sandbox
from simulators.sandbox.store import InboundRecord, MessageRecord, StatusChange
from simulators.sandbox.twilio_api import E164, MAX_BODY_CHARS, num_segments, send

REPLY_DIRECTION = "outbound-reply"
"""Twilio's ``direction`` of a message sent from TwiML in answer to an incoming one."""


@dataclass(frozen=True, slots=True)
class TwimlMessage:
    """One ``<Message>`` verb: its text, and its addresses when the verb names them."""

    body: str
    to: str | None = None
    sender: str | None = None


def _looks_like_xml(answer: WebhookAnswer) -> bool:
    return "xml" in answer.content_type.lower() or answer.body.lstrip().startswith(b"<")


def twiml_messages(answer: WebhookAnswer) -> list[TwimlMessage]:
    """The ``<Message>`` verbs of a TwiML answer, in order; none when the answer is not
    TwiML (or not safe to read)."""
    raw = answer.body[:MAX_ANSWER_BYTES]
    if not raw.strip() or not _looks_like_xml(answer):
        return []
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        return []
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError:
        return []
    if root.tag != "Response":
        return []
    messages = []
    for verb in root.findall("Message"):
        body = verb.find("Body")
        text = (body.text if body is not None else verb.text) or ""
        messages.append(TwimlMessage(text.strip(), verb.get("to"), verb.get("from")))
    return messages


def send_replies(
    sandbox: Sandbox, inbound: InboundRecord, answer: WebhookAnswer | None
) -> list[str]:
    """Sends the replies of ``answer`` to ``inbound`` as outbound SMS (each then goes
    through its statuses like any message); returns their SIDs. Must run on the
    server's event loop."""
    if answer is None:
        return []
    sent = []
    for message in twiml_messages(answer):
        to = message.to or inbound.sender
        sender = message.sender or inbound.to
        if not message.body or len(message.body) > MAX_BODY_CHARS:
            continue
        if not (E164.fullmatch(to) and E164.fullmatch(sender)):
            continue
        accepted_at = now()
        record = MessageRecord(
            provider="twilio",
            channel="sms",
            id=sandbox.ids.twilio_sid("SM"),
            to=to,
            sender=sender,
            body=message.body,
            accepted_at=accepted_at,
            num_segments=num_segments(message.body),
            direction=REPLY_DIRECTION,
            statuses=[StatusChange("queued", accepted_at)],
        )
        send(sandbox, record)
        sent.append(record.id)
    return sent
