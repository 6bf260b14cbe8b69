"""Alembic migrations of the store, run from code by zfb.store.open_store."""
