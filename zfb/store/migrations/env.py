"""Alembic environment of the store: runs on the connection zfb passes in.

zfb runs migrations from code (:func:`zfb.store.engine.upgrade`), which puts
an open connection, already in a transaction, in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from zfb.store.errors import StoreError
from zfb.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise StoreError(
        "the store's migrations run from zfb.store.open_store (or "
        "zfb.store.engine.upgrade), which passes them a database connection"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
