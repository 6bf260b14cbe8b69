"""Importing households, projects and pledges files into a store.

An import reads and checks the whole file first (every problem is reported
and nothing is written when there is one), then writes it in one
transaction: all of it or none, even if the process is killed halfway.
Records are matched on their key (``household_id``, ``project_id``,
``pledge_id``): a new key is inserted, a known one is updated when a field
differs, and the rest is left alone, so importing the same file twice
changes nothing. A file is not the whole table: records missing from it stay
in the store, and a column missing from it keeps its stored values.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ..errors import ConfigError, Problem, ValidationError
from ..pseudonym import mask
from ..taxonomy import Taxonomy, load_taxonomy, normalize_label
from . import audit
from .engine import Store
from .models import funders, households, pledges, projects
from .names import KINDS
from .records import (
    _chunks,
    _same,
    _update_many,
    audit_writes,
    funder_ids,
    household_records,
    project_records,
    py,
    write_households,
    write_projects,
)

__all__ = [
    "KINDS",
    "ImportSummary",
    "guess_kind",
    "import_file",
    "import_households",
    "import_pledges",
    "import_projects",
    "validate_pledges",
]

logger = logging.getLogger(__name__)

#: What a file may hold.

_PLEDGE_HEADERS = {
    "pledge_id": ("pledge_id", "pledge id", "认捐编号", "认捐id", "捐赠编号"),
    "funder": ("funder", "donor", "帮扶方", "捐赠方", "认捐方", "出资方"),
    "household_id": ("household_id", "household id", "户编号", "农户编号", "户号"),
    "project_id": ("project_id", "project id", "项目编号", "项目id"),
    "amount": ("amount", "认捐金额", "金额", "捐赠金额", "金额(元)"),
    "pledged_on": ("pledged_on", "date", "认捐日期", "日期", "捐赠日期"),
    "status": ("status", "状态", "认捐状态"),
}
_PLEDGE_STATUS = {
    "pledged": "pledged",
    "已认捐": "pledged",
    "认捐": "pledged",
    "paid": "paid",
    "已到账": "paid",
    "已支付": "paid",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "已取消": "cancelled",
}


@dataclass(frozen=True)
class ImportSummary:
    """What an import did.

    Attributes
    ----------
    kind : {"households", "projects", "pledges"}
    source : str
        Name of the file (without its folder) or ``"<DataFrame>"``.
    inserted, updated, unchanged : int
        Records added, changed and left as they were.
    fields : dict of str to int
        For each field, how many updated records changed it.
    """

    kind: str
    source: str
    inserted: int
    updated: int
    unchanged: int
    fields: dict[str, int] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        """Records inserted or updated (0 when the file was imported before)."""
        return self.inserted + self.updated

    def __str__(self) -> str:
        text = (
            f"{self.source}: {self.inserted} {self.kind} inserted, "
            f"{self.updated} updated, {self.unchanged} unchanged"
        )
        if self.fields:
            shown = ", ".join(f"{k} {v}" for k, v in sorted(self.fields.items()))
            text += f" (fields changed: {shown})"
        return text


def guess_kind(headers: Iterable[str]) -> str:
    """Guess what a file holds from its headers.

    A pledge id column means pledges, else a project id column means
    projects, else households.
    """
    from ..schema import canonical_header

    headers = list(headers)
    keys = {normalize_label(h).replace("_", " ") for h in headers}
    pledge = {
        normalize_label(a).replace("_", " ") for a in _PLEDGE_HEADERS["pledge_id"]
    }
    if keys & pledge:
        return "pledges"
    if any(canonical_header(h, "projects") == "project_id" for h in headers):
        return "projects"
    return "households"


def _personal_extras(table: pd.DataFrame, known: set[str], source: str) -> None:
    """Refuse extra columns that hold ID numbers or phone numbers (the rule of
    :func:`zfb.io.validate_households`, for tables given as DataFrames)."""
    from ..io import _PERSONAL_WHAT, _personal_cells

    problems = []
    for col in table.columns:
        if col in known:
            continue
        values = table[col].astype("string").fillna("").str.strip()
        for kind, i in _personal_cells(values):
            problems.append(
                Problem(
                    source,
                    int(i) + 2,
                    col,
                    mask(values[i]),
                    f"{_PERSONAL_WHAT[kind]}, and zfb does not know the column; "
                    "name it id_number (身份证号) or phone (联系电话), or remove it",
                )
            )
    if problems:
        raise ValidationError(problems)


def _summary(kind: str, source: str, counts) -> ImportSummary:
    return ImportSummary(
        kind,
        source,
        len(counts.inserted),
        len(counts.updated),
        len(counts.unchanged),
        dict(counts.fields),
    )


def _import_note(conn, actor: str, table: str, summary: ImportSummary, at=None) -> None:
    audit.record(
        conn,
        actor=actor,
        action="import",
        table=table,
        detail=(
            f"{summary.source}: {summary.inserted} inserted, {summary.updated} "
            f"updated, {summary.unchanged} unchanged"
        ),
        at=at,
    )


def import_households(
    store: Store,
    table: pd.DataFrame,
    *,
    actor: str,
    source: str = "<DataFrame>",
    taxonomy: Taxonomy | None = None,
) -> ImportSummary:
    """Write a canonical households table into the store, in one transaction.

    Parameters
    ----------
    store : Store
    table : DataFrame
        As returned by :func:`zfb.io.validate_households` (with
        ``keep_personal=True`` to keep names and phone numbers for cadres).
    actor : str
        Who imports (recorded in the audit log).
    source : str, default "<DataFrame>"
        Name shown in the summary and the audit log.
    taxonomy : Taxonomy, optional
        The taxonomy the causes were coded with; default
        :func:`zfb.load_taxonomy`.

    Returns
    -------
    ImportSummary

    Raises
    ------
    ValidationError
        If a column the store does not know holds ID or phone numbers.
    ConflictError
        If another writer changed one of the households meanwhile.
    """
    tax = taxonomy or load_taxonomy()
    known = set(households.c.keys()) | {"causes", "need_kind", "need_amount"}
    _personal_extras(table, known, source)
    fields, records = household_records(table)
    with store.write() as conn:
        counts = write_households(conn, records, fields, actor=actor, taxonomy=tax)
        summary = _summary("households", source, counts)
        _import_note(conn, actor, "households", summary)
    logger.info("%s", summary)
    return summary


def import_projects(
    store: Store,
    table: pd.DataFrame,
    *,
    actor: str,
    source: str = "<DataFrame>",
) -> ImportSummary:
    """Write a canonical projects table into the store, in one transaction.

    See :func:`import_households`; ``table`` is as returned by
    :func:`zfb.io.validate_projects`. Funders are added by name.
    """
    known = set(projects.c.keys()) | {"funder"}
    _personal_extras(table, known, source)
    fields, records = project_records(table)
    with store.write() as conn:
        counts = write_projects(conn, records, fields, actor=actor)
        summary = _summary("projects", source, counts)
        _import_note(conn, actor, "projects", summary)
    logger.info("%s", summary)
    return summary


def validate_pledges(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    row_offset: int | Sequence[int] | None = None,
) -> pd.DataFrame:
    """Check a pledges table and return it in canonical form.

    Parameters
    ----------
    df : DataFrame
        Raw table (cells as text). Headers: ``pledge_id`` (认捐编号),
        ``funder`` (帮扶方), ``household_id`` (户编号) and/or ``project_id``
        (项目编号), ``amount`` (认捐金额, CNY, more than 0), optionally
        ``pledged_on`` (认捐日期, YYYY-MM-DD) and ``status`` (pledged 已认捐,
        paid 已到账, cancelled 已取消; default pledged).
    source : str, default "<DataFrame>"
        Name of the file, used in problem reports.
    row_offset : int or sequence of int, optional
        As in :func:`zfb.io.validate_households`: by default the rows
        :func:`zfb.io.read_table` recorded (blank lines counted), else the
        position plus 2.

    Returns
    -------
    DataFrame
        One row per pledge, columns ``pledge_id``, ``funder``,
        ``household_id``, ``project_id`` (str or NA), ``amount`` (float64),
        ``pledged_on`` (datetime64 or NaT), ``status`` (str).
        ``attrs["source_rows"]`` holds the row of the file of each pledge.

    Raises
    ------
    ValidationError
        With every problem found.
    """
    from ..io import _source_rows

    rows = _source_rows(df, row_offset)
    problems: list[Problem] = []
    lookup = {
        normalize_label(a).replace("_", " "): name
        for name, aliases in _PLEDGE_HEADERS.items()
        for a in aliases
    }
    columns: dict[str, str] = {}
    for header in df.columns:
        name = lookup.get(normalize_label(header).replace("_", " "))
        if name and name not in columns:
            columns[name] = header
    for name in ("pledge_id", "funder", "amount"):
        if name not in columns:
            problems.append(
                Problem(source, None, name, "", "required column is missing")
            )
    if "household_id" not in columns and "project_id" not in columns:
        problems.append(
            Problem(
                source,
                None,
                "household_id",
                "",
                "name a household_id or project_id column",
            )
        )
    if problems:
        raise ValidationError(problems)
    raw = pd.DataFrame(
        {n: df[h].astype(str).str.strip() for n, h in columns.items()}
    ).reset_index(drop=True)
    for n in ("household_id", "project_id", "pledged_on", "status"):
        if n not in raw.columns:
            raw[n] = ""

    def row_of(i: int) -> int:
        return i + rows if isinstance(rows, int) else int(rows[i])

    def add(i, name, value, rule):
        problems.append(
            Problem(source, row_of(i), columns.get(name, name), value, rule)
        )

    for i, row in raw.iterrows():
        if not row["pledge_id"]:
            add(i, "pledge_id", "", "a value is required")
        if not row["funder"]:
            add(i, "funder", "", "a value is required")
        if not row["household_id"] and not row["project_id"]:
            add(i, "household_id", "", "name the household or the project pledged to")
        text = row["amount"].removesuffix("元").replace(",", "")
        try:
            amount = float(text)
        except ValueError:
            amount = math.nan
        if not math.isfinite(amount) or amount <= 0:
            add(i, "amount", row["amount"], "must be a number more than 0")
        if row["status"] and normalize_label(row["status"]) not in _PLEDGE_STATUS:
            add(i, "status", row["status"], "must be pledged, paid or cancelled")
    dates = pd.to_datetime(
        raw["pledged_on"].where(raw["pledged_on"] != ""),
        errors="coerce",
        format="mixed",
    )
    for i in raw.index[(raw["pledged_on"] != "") & dates.isna()]:
        add(i, "pledged_on", raw.at[i, "pledged_on"], "must be a date (YYYY-MM-DD)")
    dup = raw["pledge_id"].duplicated(keep="first") & (raw["pledge_id"] != "")
    for i in raw.index[dup]:
        add(
            i,
            "pledge_id",
            raw.at[i, "pledge_id"],
            "duplicate pledge_id; must be unique",
        )
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        raise ValidationError(problems)
    amounts = pd.to_numeric(
        raw["amount"].str.removesuffix("元").str.replace(",", ""), errors="coerce"
    )
    table = pd.DataFrame(
        {
            "pledge_id": raw["pledge_id"],
            "funder": raw["funder"],
            "household_id": raw["household_id"].replace("", pd.NA),
            "project_id": raw["project_id"].replace("", pd.NA),
            "amount": amounts.astype("float64"),
            "pledged_on": dates,
            "status": raw["status"]
            .map(
                lambda s: (
                    _PLEDGE_STATUS.get(normalize_label(s), "pledged")
                    if s
                    else "pledged"
                )
            )
            .astype(str),
        }
    )
    table.attrs["source_rows"] = [row_of(i) for i in range(len(table))]
    return table


_PLEDGE_FIELDS = (
    "funder",
    "household_id",
    "project_id",
    "amount",
    "pledged_on",
    "status",
)


def import_pledges(
    store: Store,
    table: pd.DataFrame,
    *,
    actor: str,
    source: str = "<DataFrame>",
) -> ImportSummary:
    """Write a canonical pledges table (:func:`validate_pledges`) into the store.

    Raises
    ------
    ValidationError
        If a pledge names a household or project that is not in the store
        (nothing is written).
    ConflictError
        If another writer changed one of the pledges meanwhile.
    """
    at = audit.now()
    file_rows = table.attrs.get("source_rows")
    if file_rows is None or len(file_rows) != len(table):
        file_rows = range(2, len(table) + 2)
    rows = table.reset_index(drop=True)
    new = {
        str(r["pledge_id"]): {f: py(r[f]) for f in _PLEDGE_FIELDS}
        for r in rows.to_dict("records")
    }
    inserted, updated, unchanged, changes = [], [], [], {}
    with store.write() as conn:
        problems = []
        for name, col in (
            ("household_id", households.c.household_id),
            ("project_id", projects.c.project_id),
        ):
            wanted = sorted({r[name] for r in new.values() if r[name] is not None})
            found = set()
            for chunk in _chunks(wanted):
                found |= set(
                    conn.execute(sa.select(col).where(col.in_(chunk))).scalars()
                )
            for i, r in enumerate(new.values()):
                if r[name] is not None and r[name] not in found:
                    problems.append(
                        Problem(
                            source,
                            int(file_rows[i]),
                            name,
                            r[name],
                            f"no such {name[:-3]} in the store",
                        )
                    )
        if problems:
            raise ValidationError(problems)
        names = {r["funder"] for r in new.values()}
        fids = funder_ids(conn, names, at=at)
        old = {}
        for chunk in _chunks(list(new)):
            stmt = (
                sa.select(pledges, funders.c.name.label("funder"))
                .join(funders, funders.c.funder_id == pledges.c.funder_id)
                .where(pledges.c.pledge_id.in_(chunk))
            )
            for r in conn.execute(stmt).mappings():
                old[r["pledge_id"]] = dict(r)
        rows_in, rows_up = [], []
        for pid, rec in new.items():
            values = {f: rec[f] for f in _PLEDGE_FIELDS if f != "funder"}
            values["funder_id"] = fids[rec["funder"]]
            if pid not in old:
                inserted.append(pid)
                rows_in.append(
                    {
                        "pledge_id": pid,
                        **values,
                        "version": 1,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                continue
            diff = [f for f in _PLEDGE_FIELDS if not _same(old[pid][f], rec[f])]
            if not diff:
                unchanged.append(pid)
                continue
            updated.append(pid)
            changes[pid] = diff
            rows_up.append(
                values
                | {"updated_at": at, "b_key": pid, "b_version": old[pid]["version"]}
            )
        if rows_in:
            conn.execute(sa.insert(pledges), rows_in)
        _update_many(conn, pledges, "pledge_id", rows_up, "pledges")
        counts = audit_writes(
            conn, "pledges", inserted, updated, unchanged, changes, actor=actor, at=at
        )
        summary = _summary("pledges", source, counts)
        _import_note(conn, actor, "pledges", summary, at=at)
    logger.info("%s", summary)
    return summary


def import_file(
    store: Store,
    path: str | PathLike,
    kind: str | None = None,
    *,
    actor: str,
    taxonomy: Taxonomy | None = None,
    secret: str | bytes | None = None,
    townships: Iterable[str] | None = None,
    mapping: str | PathLike | None = None,
    sheet: str | int | None = None,
) -> ImportSummary:
    """Read, check and import one file, all or nothing.

    Parameters
    ----------
    store : Store
    path : str or path-like
        A CSV or XLSX file (see :func:`zfb.io.read_table`).
    kind : {"households", "projects", "pledges"}, optional
        Default: the table ``mapping`` makes, else guessed from the headers
        (:func:`guess_kind`).
    actor : str
        Who imports (recorded in the audit log).
    taxonomy, secret, townships
        See :func:`zfb.io.validate_households`. Households keep their
        heads' names and phone numbers (shown to their village's cadres
        only); national ID numbers become pseudonyms and are never stored.
    mapping : str or path-like, optional
        A survey mapping that turns the file into households or projects
        (see :func:`zfb.io.read_households`).
    sheet : str or int, optional
        The sheet of an XLSX workbook (see :func:`zfb.io.read_table`).

    Returns
    -------
    ImportSummary
        ``inserted``, ``updated`` and ``unchanged`` counts; importing the
        same file again gives ``changes == 0``.

    Raises
    ------
    InputError
        If the file cannot be read.
    ValidationError
        With every problem found; nothing is written.
    ConflictError
        If another writer changed a record meanwhile; nothing is written.

    Notes
    -----
    The file is read once and checked by :func:`zfb.io.validate_table`,
    the path of :func:`zfb.io.read_households` and
    :func:`zfb.io.read_projects` (with ``keep_personal=True``).
    """
    from ..io import _repeated_problems, read_table, validate_table

    path = Path(path)
    raw = read_table(path, sheet=sheet, duplicate_headers="keep")
    if kind is None and mapping is not None:
        from ..survey import load_mapping

        kind = load_mapping(mapping).table
    kind = kind or guess_kind(raw.columns)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    source = path.name
    tax = taxonomy or load_taxonomy()
    if kind == "pledges":
        if mapping is not None:
            raise ConfigError(
                "a survey mapping makes households or projects, not pledges"
            )
        problems = _repeated_problems(raw, source)
        if problems:
            raise ValidationError(problems)
        table = validate_pledges(raw, source=source)
        return import_pledges(store, table, actor=actor, source=source)
    table = validate_table(
        raw,
        kind,
        source=source,
        mapping=mapping,
        taxonomy=tax,
        secret=secret,
        townships=townships,
        keep_personal=True,
    )
    if kind == "households":
        return import_households(store, table, actor=actor, source=source, taxonomy=tax)
    return import_projects(store, table, actor=actor, source=source)
