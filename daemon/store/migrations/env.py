"""Alembic environment: migrations run on a connection trimtab hands over, in one transaction."""

from alembic import context

from daemon.store.metadata import full_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=full_metadata(),
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
