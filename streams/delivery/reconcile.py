"""Whether an attempt whose answer was lost reached the provider.

An attempt is in doubt when its worker died between the request and the ledger's record
of the answer, or when the request timed out or lost its connection: the provider may
have accepted the message. Sending again could deliver it twice, so the provider is
asked first, the way each allows:

- **SMS** (Twilio): the Messages API lists the messages sent to a number, newest first;
  a message carrying the decision's redemption link is the one.
- **WhatsApp**: the Cloud API lists nothing, but reports every message it accepted in a
  status webhook that carries the message's callback data (the decision); the status
  book (:mod:`offers.delivery_status`) holds what the webhooks said. When it has nothing
  yet, the answer waits ``OFFERS_DELIVERY_RECONCILE_SECONDS`` for a late webhook; none
  by then means the message was not accepted.
- **Messenger**: no listing, and no status webhooks for page messages: the engine
  cannot know, and sends nothing rather than risk a second message (the decision is
  dead-lettered as ``in_doubt``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from offers.contracts import Channel, OfferDecision
from offers.delivery_status import StatusBook
from streams.delivery.adapters import SmsAdapter

log = logging.getLogger(__name__)

LOOKUP_TRIES = 5
LOOKUP_BACKOFF_S = 1.0


@dataclass(frozen=True, slots=True)
class Answer:
    """The provider's message id if it has the message; ``knowable`` False when the
    engine cannot tell (then nothing may be sent)."""

    message_id: str | None
    knowable: bool = True
    reason: str = ""


class Reconciler:
    def __init__(self, sms: SmsAdapter | None, statuses: StatusBook, wait_s: float) -> None:
        self._sms = sms
        self._statuses = statuses
        self._wait_s = wait_s

    async def find(
        self, decision: OfferDecision, channel: Channel, address: str, since: datetime
    ) -> Answer:
        """Whether the provider has ``decision``'s message to ``address``, sent on
        ``channel`` since ``since``."""
        if channel is Channel.SMS:
            return await self._find_sms(decision.decision_id, address, since)
        if channel is Channel.WHATSAPP:
            return await self._find_by_webhook(decision.decision_id)
        return Answer(None, False, f"{channel.value} offers no way to look a message up")

    async def _find_sms(self, decision_id: str, address: str, since: datetime) -> Answer:
        if self._sms is None or not address:
            return Answer(None, False, "no SMS provider or no number to look the message up")
        error: Exception | None = None
        for attempt in range(LOOKUP_TRIES):
            try:
                sid = await asyncio.to_thread(
                    self._sms.find_sent_blocking, decision_id, address, since
                )
            except Exception as exc:  # the provider's client raises many kinds
                error = exc
                log.warning("%s: looking the message up failed: %s", decision_id, exc)
                await asyncio.sleep(LOOKUP_BACKOFF_S * 2**attempt)
                continue
            return Answer(sid)
        return Answer(None, False, f"the provider could not be asked: {error}")

    async def _find_by_webhook(self, decision_id: str) -> Answer:
        for wait in (0.0, self._wait_s):
            await asyncio.sleep(wait)
            record = await asyncio.to_thread(self._statuses.get, decision_id)
            if record is not None and record.message_id:
                return Answer(record.message_id)
        return Answer(None)
