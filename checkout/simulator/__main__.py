"""`python -m checkout.simulator`: run the Stripe simulator in the foreground."""

import argparse
import logging
import os
import signal
import sys
import threading

from checkout.simulator.server import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stripe-compatible simulator (dev and tests only)")
    parser.add_argument("--host", default=os.environ.get("STRIPE_SIMULATOR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("STRIPE_SIMULATOR_PORT", "12111")))
    parser.add_argument(
        "--webhook-url", default=os.environ.get("STRIPE_WEBHOOK_URL", "http://127.0.0.1:8000/stripe/webhook/")
    )
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_simulator"
    )
    parser.add_argument("--public-url", default=os.environ.get("STRIPE_SIMULATOR_PUBLIC_URL", ""))
    parser.add_argument("--retry-base-seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[stripe-simulator] %(message)s")

    sim = Simulator(
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        public_url=args.public_url,
        retry_base_seconds=args.retry_base_seconds,
    ).start()
    print(
        f"[stripe-simulator] API and checkout pages on {sim.url}; webhooks to {args.webhook_url} "
        f"signed with the configured STRIPE_WEBHOOK_SECRET",
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
