"""The HTTP API of the offer engine: routes, authentication and provider webhooks."""
