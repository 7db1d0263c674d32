"""slo domain."""
