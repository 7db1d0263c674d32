"""Notification channels: message rendering, outgoing-URL safety, secrets and senders."""
