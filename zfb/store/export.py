"""Exporting a table of the store to CSV, XLSX or Parquet.

An export is what the role may see (:func:`zfb.store.roles.view`), less the
personal columns: the head's name and phone number, and the free-text and
unknown columns that may hold them (a match history's ``note`` too). Only a
role that sees personal data (cadre, administrator) may ask for them with
``personal=True``, for a full copy of its records; that file is then
personal data itself, and the export warns so. Every export is recorded in
the audit log.

``households`` and ``projects`` are written as canonical tables that
:func:`zfb.store.import_file` reads back: exporting with ``personal=True``
and importing into an empty store gives the same records.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from os import PathLike
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, InputError, ZfbWarning
from . import audit
from .engine import Store
from .errors import AccessError
from .models import PERSONAL_COLUMNS, households, projects
from .roles import Role, view

__all__ = ["FORMATS", "PersonalDataWarning", "export_table", "write_frame"]

logger = logging.getLogger(__name__)

#: File suffixes an export may have.
FORMATS: tuple[str, ...] = (".csv", ".xlsx", ".parquet")
_FREE_TEXT = ("help_plan", "notes")


class PersonalDataWarning(ZfbWarning):
    """A file written holds personal data: keep it as safe as the store."""


def write_frame(df: pd.DataFrame, path: str | PathLike) -> Path:
    """Write a table to CSV (UTF-8), XLSX or Parquet, by the suffix of ``path``.

    The file is written under a temporary name in the same folder and
    renamed into place, so a reader never sees half a file.

    Raises
    ------
    InputError
        If the suffix is not ``.csv``, ``.xlsx`` or ``.parquet``.
    ConfigError
        For Parquet when pyarrow is not installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{path.name}: cannot export to {suffix or 'a file without a suffix'}; "
            "name the file .csv, .xlsx or .parquet"
        )
    if suffix == ".xlsx":
        df = df.copy()
        for col in df.columns:
            if isinstance(df[col].dtype, pd.DatetimeTZDtype):
                df[col] = df[col].dt.tz_convert("UTC").dt.tz_localize(None)
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(
                "Parquet export needs pyarrow: pip install pyarrow (or export to "
                ".csv or .xlsx)"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        if suffix == ".csv":
            df.to_csv(tmp, index=False, encoding="utf-8")
        elif suffix == ".xlsx":
            df.to_excel(tmp, index=False, engine="openpyxl")
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _exportable(df: pd.DataFrame, table: str, personal: bool) -> pd.DataFrame:
    if table in ("households", "projects"):
        df = df.drop(columns=[c for c in ("version",) if c in df.columns])
    if personal:
        return df
    if table == "households":
        known = set(households.c.keys()) | {"causes", "need_kind", "need_amount"}
        drop = [
            c
            for c in df.columns
            if c in PERSONAL_COLUMNS or c in _FREE_TEXT or c not in known
        ]
        return df.drop(columns=drop)
    if table == "projects":
        known = set(projects.c.keys()) | {"funder"}
        return df.drop(columns=[c for c in df.columns if c not in known])
    if table == "match_history":
        return df.drop(columns=[c for c in ("note",) if c in df.columns])
    return df


def export_table(
    store: Store,
    table: str,
    path: str | PathLike,
    *,
    role: Role | None = None,
    personal: bool = False,
    actor: str = "zfb export",
) -> Path:
    """Write one table of the store, as ``role`` sees it, to a file.

    Parameters
    ----------
    store : Store
    table : str
        One of :data:`zfb.store.roles.TABLES`.
    path : str or path-like
        ``.csv`` (UTF-8), ``.xlsx`` or ``.parquet``.
    role : Role, optional
        Default :meth:`Role.administrator`.
    personal : bool, default False
        Also write names, phone numbers, free text and the input's unknown
        columns (cadre and administrator only). Warns with
        :class:`PersonalDataWarning`.
    actor : str, default "zfb export"
        Who exports (recorded in the audit log).

    Returns
    -------
    Path
        The file written: one row per record of the role's view (see
        :func:`~zfb.store.roles.view`), RangeIndex order, no index column.

    Raises
    ------
    AccessError
        If the role may not read the table, or asks for personal columns it
        does not see.
    InputError
        If the suffix is not one of :data:`FORMATS`.
    """
    role = role or Role.administrator()
    if personal and not role.sees_personal:
        raise AccessError(
            f"the {role.kind} role does not see personal data, so it cannot "
            "export it; drop --personal"
        )
    df = _exportable(view(store, table, role), table, personal)
    written = write_frame(df, path)
    if personal:
        warnings.warn(
            f"{written.name} holds names and phone numbers: keep it as safe as "
            "the store itself and delete it when done",
            PersonalDataWarning,
            stacklevel=2,
        )
    with store.write() as conn:
        audit.record(
            conn,
            actor=actor,
            action="export",
            table=table,
            detail=(
                f"{len(df)} rows as {role.kind} to {written.suffix[1:]}"
                + (" with personal columns" if personal else "")
            ),
        )
    logger.info("exported %d rows of %s as %s", len(df), table, role.kind)
    return written
