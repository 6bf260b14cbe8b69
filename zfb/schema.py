"""Column specifications of the households and projects tables.

The specifications are data (``zfb/data/columns.csv``): for each table, the
canonical English column name, the kind of value it holds, whether it is
required, the aliases accepted as headers (the Chinese headers of a registry
export among them) and a description. ``docs/columns.md`` is generated from
the same file by :func:`columns_markdown`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from .taxonomy import normalize_label

__all__ = ["ColumnSpec", "column_specs", "columns_markdown", "header_map", "TABLES"]

TABLES = ("households", "projects")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a canonical table.

    Attributes
    ----------
    table : {"households", "projects"}
    name : str
        Canonical snake_case name.
    kind : str
        One of ``id, id_number, personal, str, text, int, float, bool, status,
        causes, need_kind, tags, townships, modes, date``.
    required : bool
    aliases : tuple of str
        Other headers accepted for the column (Chinese and English).
    description : str
    """

    table: str
    name: str
    kind: str
    required: bool
    aliases: tuple[str, ...]
    description: str


@functools.cache
def column_specs(table: str) -> dict[str, ColumnSpec]:
    """Return the specifications of ``table``'s columns, keyed by name, in order."""
    if table not in TABLES:
        raise ValueError(f"table must be one of {TABLES}, got {table!r}")
    path = resources.files("zfb") / "data" / "columns.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    out = {}
    for row in df[df["table"] == table].itertuples(index=False):
        aliases = tuple(a for a in row.aliases.split("|") if a)
        out[row.column] = ColumnSpec(
            table, row.column, row.kind, row.required == "yes", aliases, row.description
        )
    return out


def _header_key(header: str) -> str:
    key = normalize_label(header)
    return key.replace(" ", "").replace("_", "")


@functools.cache
def header_map(table: str) -> dict[str, str]:
    """Map every accepted header (normalised) to its canonical column name.

    Headers are compared after NFKC normalisation, case folding and removal
    of spaces, underscores and invisible characters, so ``"Household ID"``,
    ``"household_id"`` and ``"HOUSEHOLDID"`` are one header, and full-width
    brackets equal half-width.
    """
    out: dict[str, str] = {}
    for name, spec in column_specs(table).items():
        for header in (name, *spec.aliases):
            out.setdefault(_header_key(header), name)
    return out


def canonical_header(header: str, table: str) -> str | None:
    """The canonical name of ``header`` in ``table``, or None if unknown."""
    return header_map(table).get(_header_key(header))


def columns_markdown() -> str:
    """Return the Markdown reference of every column (``docs/columns.md``)."""
    lines = [
        "# Columns of the input files",
        "",
        "Generated from `zfb/data/columns.csv` by `zfb.schema.columns_markdown()`.",
        "Headers are matched after NFKC normalisation, ignoring case, spaces and",
        "underscores; any header listed under *also accepted* works as well as the",
        "canonical name. A header written twice in one file is a problem. Columns",
        "not listed are kept as they are, unless they hold what look like national",
        "ID numbers or phone numbers: that is a problem too, so that such numbers",
        "cannot pass under another header (in a households file, name the column",
        "`id_number` or `phone`; else remove it).",
        "",
        "Every value is read after NFKC normalisation (full-width letters and",
        "digits as half-width), without the spaces around it and without",
        "invisible characters (zero-width spaces and joiners, direction marks,",
        "soft hyphens), so that two values that look the same are the same.",
        "",
    ]
    for table in TABLES:
        lines += [
            f"## {table}",
            "",
            "| column | required | kind | also accepted | description |",
            "|---|---|---|---|---|",
        ]
        for spec in column_specs(table).values():
            aliases = ", ".join(spec.aliases)
            req = "yes" if spec.required else ""
            lines.append(
                f"| `{spec.name}` | {req} | {spec.kind} | {aliases} | "
                f"{spec.description} |"
            )
        lines.append("")
    return "\n".join(lines)
