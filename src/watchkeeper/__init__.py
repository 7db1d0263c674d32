"""Watchkeeper: self-hosted on-call, incident response and SLO platform."""

__version__ = "0.1.0"
