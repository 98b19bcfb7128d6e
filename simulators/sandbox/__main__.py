"""``python -m simulators.sandbox``: serves the provider sandbox in the foreground."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from simulators.sandbox.app import create_app
from simulators.sandbox.config import SandboxConfig


def parse(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, SandboxConfig]:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.sandbox",
        description="Local stand-in for Twilio's Messages API and Meta's Graph API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--inbound-url", help="where replies (POST /sandbox/reply) are posted")
    parser.add_argument("--whatsapp-webhook-url", help="where WhatsApp statuses are posted")
    parser.add_argument("--callback-delay", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--sender-mps", type=float, help="messages per second per sender")
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--read-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit-rate", type=float, default=0.0)
    parser.add_argument("--server-error-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = SandboxConfig(
        inbound_url=args.inbound_url,
        whatsapp_webhook_url=args.whatsapp_webhook_url,
        callback_delay_s=args.callback_delay,
        sender_mps=args.sender_mps,
        failure_rate=args.failure_rate,
        read_rate=args.read_rate,
        rate_limit_rate=args.rate_limit_rate,
        server_error_rate=args.server_error_rate,
        latency_s=args.latency,
        seed=args.seed,
    )
    return args, config


def main(argv: Sequence[str] | None = None) -> None:
    args, config = parse(argv)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
