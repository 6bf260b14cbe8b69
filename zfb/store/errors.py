"""Errors raised by the store.

Each derives from :class:`zfb.errors.ZfbError`, so the ``zfb`` command prints
its message and exits with status 2.
"""

from __future__ import annotations

from ..errors import ZfbError

__all__ = ["AccessError", "ConflictError", "StoreError"]


class StoreError(ZfbError):
    """The store cannot be opened or used: bad URL, server down, wrong schema."""


class ConflictError(StoreError):
    """A write lost a race: the record changed since it was read.

    The writer should read the record again, redo its change and retry.

    Attributes
    ----------
    table : str
        Table of the record.
    key : str
        Key of the record (``household_id``, ``project_id``, ...), or
        ``""`` when the conflict is about a whole import.
    """

    def __init__(self, table: str, key: str, message: str) -> None:
        self.table = table
        self.key = key
        super().__init__(message)


class AccessError(StoreError):
    """A role asked for a table or an action that its view does not allow."""
