"""Webhook deliveries: received, stored in the ledger before the 2xx, adopted by the runner."""
