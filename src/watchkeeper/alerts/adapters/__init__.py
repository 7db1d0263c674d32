"""alerts adapters domain."""
