"""Stripe simulator for development and tests; see server.py. Never used with a real key."""

from checkout.simulator.server import Simulator, sign, start_simulator

__all__ = ["Simulator", "sign", "start_simulator"]
