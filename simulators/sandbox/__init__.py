"""Provider sandbox: a local HTTP server speaking the parts of Twilio's Messages API and
Meta's Graph API (WhatsApp Cloud API, Messenger Send API) that the channel adapters call,
so that the demo and the tests send SMS, WhatsApp and Messenger messages offline.

Usage::

    with running_sandbox(SandboxConfig(inbound_url="http://127.0.0.1:8000/webhooks/sms")) as sb:
        client = twilio_client(sb.base_url, sb.config.account_sid, sb.config.auth_token)
        message = client.messages.create(to="+393331234567", from_="+15005550006", body="Hi")
        sb.wait_for(message.sid, "delivered")

or ``create_app(config)`` for an ASGI app (``httpx.ASGITransport``, uvicorn), or
``python -m simulators.sandbox --port 8099`` for a standalone server.

Faithful to the real APIs
-------------------------
* Paths, methods and request encodings: Twilio's form-encoded
  ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, ``GET …/Messages/{Sid}.json``
  and the list ``GET …/Messages.json``; Graph's JSON
  ``POST /{version}/{phone_number_id}/messages`` and ``POST /{version}/me/messages``. The
  official ``twilio`` client works unchanged (:func:`twilio_client` only redirects its
  host), ``client.messages.list(to=…, date_sent_after=…)`` included.
* Twilio's message list: the account's messages, sent and received, newest first, filtered
  by ``To``, ``From``, ``DateSent``, ``DateSent>`` (on or after) and ``DateSent<`` (on or
  before), paged by ``PageSize`` (50, at most 1,000), ``Page`` and ``PageToken``, in
  Twilio's list shape (``messages``, ``page``, ``page_size``, ``first_page_uri``,
  ``next_page_uri`` (``null`` on the last page), ``previous_page_uri``, ``uri``, ``start``,
  ``end``).
* Authentication: HTTP Basic with Account SID and Auth Token (the path's account must be
  the caller's) answered by 401 / 20003 ``Authenticate``; Graph bearer tokens (or the
  ``access_token`` query parameter) answered by 401 / 190 ``OAuthException``.
* Answers: Twilio's message resource (``SM`` + 32 hex SID, RFC 2822 dates, ``num_segments``
  counted in GSM-7 or UCS-2 segments, ``queued``, or ``accepted`` for a Messaging Service
  without ``From``); Twilio's error body (``code``, ``message``, ``more_info``, ``status``);
  the Cloud API's ``contacts``/``messages`` answer and ``wamid.`` IDs; Messenger's
  ``recipient_id``/``message_id``; Graph's ``{"error": {…, "fbtrace_id"}}``.
* Twilio error codes: 21604 no ``To``, 21211 ``To`` not E.164, 21603 no ``From`` nor
  ``MessagingServiceSid``, 21212 malformed ``From``, 21910 SMS/WhatsApp address mix,
  21602 empty ``Body``, 21617 body over 1,600 characters, 21624 ``ValidityPeriod`` not an
  integer in 1..36000, 21609 malformed ``StatusCallback``, 21610 recipient on the STOP
  list, 20404 unknown message, 20429 rate limited (with ``Retry-After``), 20500/20503.
* Graph error codes: 190 bad token, 100 invalid parameter (subcode 33 for an unknown
  phone number ID, 2018001 for an unknown Messenger recipient), 131026 message
  undeliverable, 131030 recipient not in the allowed list, 130429 WhatsApp throughput
  reached, 613 Messenger rate limit, 1 and 2 transient server errors.
* Status callbacks: Twilio's form fields (``MessageSid``, ``MessageStatus``, ``SmsSid``,
  ``SmsStatus``, ``To``, ``From``, ``AccountSid``, ``ApiVersion``, ``ErrorCode`` when it
  failed, ``MessagingServiceSid`` when used) signed with ``X-Twilio-Signature`` by the
  official ``RequestValidator``, with an ``I-Twilio-Idempotency-Token`` constant across
  retries; ``sent`` then ``delivered``, or ``undelivered`` with 30003 (unreachable handset).
* Validity period: a message that cannot leave its sender's queue before its
  ``ValidityPeriod`` ends is never sent and becomes ``failed`` with 30036 (Validity Period
  Expired, the code Twilio documents for exactly this case; 30001, queue overflow, is
  the older, broader one) when the period ends. The time to leave the queue is the
  wait behind earlier messages of the same sender (``sender_mps``) plus
  ``callback_delay_s``.
* WhatsApp status webhooks in the Cloud API's shape (``whatsapp_business_account``,
  ``entry[].changes[].value.statuses[]``, errors on ``failed``), signed with
  ``X-Hub-Signature-256`` (and the legacy SHA-1 ``X-Hub-Signature``). The sender's
  ``biz_opaque_callback_data`` (a string of at most 512 characters, else error 100) is
  recorded and echoed in each ``statuses[]`` entry of the message.
* Inbound SMS: ``POST /sandbox/reply`` makes the sandbox post Twilio's incoming-message
  form (``MessageSid``, ``AccountSid``, ``From``, ``To``, ``Body``, ``NumMedia``, …),
  signed, to ``inbound_url``. Twilio's default keywords apply: STOP, STOPALL,
  UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT (whole body, trimmed, any case) put the
  sender on the STOP list; START, YES, UNSTOP take it off; the webhook then carries
  ``OptOutType``. Each ``<Message>`` of the application's TwiML answer
  (``<Response><Message>…</Message></Response>``) is sent back as an SMS, from the number
  texted to the sender unless the verb names ``from``/``to``, with ``direction``
  ``outbound-reply``; it goes through ``queued``, ``sent``, ``delivered`` like any message.

Simplified
----------
* One account, one WhatsApp phone number ID, one Messenger page; no API keys (``SK…``),
  subaccounts, regions or edges. Only text messages (WhatsApp templates are accepted and
  recorded, not rendered); no media, no Content API, no scheduling. The message list
  holds Twilio's messages only (not WhatsApp Cloud API or Messenger ones) and has no
  ``Status`` filter; a list parameter it refuses gets 400 with code 20001.
* Twilio's STOP list is global, not kept per sender or Messaging Service. Twilio itself
  sends no confirmation SMS after STOP: the application's TwiML reply is delivered
  instead, even to a number that just opted out, and that is how the confirmation reaches
  the customer. Only ``<Message>`` verbs of TwiML are played (no ``<Redirect>``, no
  media); a plain-text answer sends nothing. Senders are checked for format only, not
  ownership; a Messaging Service gets ``twilio_number`` as the sender in callbacks.
* Statuses ``queued``/``accepted`` then ``sent`` and ``delivered`` (or ``undelivered``,
  ``failed``): no ``sending``, no ``read`` for SMS. The outcome of each message is drawn
  at acceptance. WhatsApp errors about the recipient are answered synchronously, where
  the real Cloud API often accepts the message and reports 131026 in a ``failed`` status
  webhook; WhatsApp status webhooks carry no ``conversation`` or ``pricing`` objects.
  Messenger messages are recorded as ``sent`` and send no delivery webhooks.
* Webhooks are retried on any failure (``callback_attempts``), which Twilio does only on
  request; they are posted in order, one message at a time.
* Faults (429, 500, 503) hit send requests only, after authentication, each drawn from
  a generator seeded with ``seed``, one per provider; ``latency_s`` delays every send
  request; the answer to a share ``slow_rate`` of accepted sends comes ``slow_s`` late.
  429s from Graph also carry ``Retry-After``. Rate limits are drawn, not computed from
  real request rates.
* Nothing persists: state lives in memory until :meth:`Sandbox.reset` or shutdown.
"""

from simulators.sandbox.app import create_app
from simulators.sandbox.callbacks import meta_signature, twilio_signature
from simulators.sandbox.client import SandboxHttpClient, twilio_client
from simulators.sandbox.config import SandboxConfig
from simulators.sandbox.runner import running_sandbox
from simulators.sandbox.state import Sandbox
from simulators.sandbox.store import InboundRecord, MessageRecord, StatusChange, WebhookAttempt

__all__ = [
    "InboundRecord",
    "MessageRecord",
    "Sandbox",
    "SandboxConfig",
    "SandboxHttpClient",
    "StatusChange",
    "WebhookAttempt",
    "create_app",
    "meta_signature",
    "running_sandbox",
    "twilio_client",
    "twilio_signature",
]
