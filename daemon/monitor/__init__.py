"""Watching the accounts: alerts, health, notifications and the performance history."""
