"""Delivery: offers sent to customers over SMS, WhatsApp and Messenger.

- :mod:`~streams.delivery.providers`: where each provider is reached and with which
  credentials (the real hosts in production, the provider sandbox in the demo and tests);
- :mod:`~streams.delivery.messages`: the message of a decision, its template rendered in
  the customer's language, with a signed redemption link
  (:mod:`~streams.delivery.redemption`);
- :mod:`~streams.delivery.adapters`: one adapter per channel, one request per send;
- :mod:`~streams.delivery.results`: what came of a send, every failure classified as
  transient or permanent, and what it says about the customer's reachability;
- :mod:`~streams.delivery.policy`: retry backoff, the validity period of a message, and
  the rate limit of each provider.
"""
