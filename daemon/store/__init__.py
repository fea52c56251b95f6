"""Persistence: the only package that talks SQL (engine set-up, models, migrations,
repositories)."""
