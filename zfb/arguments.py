"""Command-line options shared by the ``zfb`` subcommands, and what they give.

``zfb/cli.py`` and ``zfb/store/commands.py`` both take a county's extra causes
(``--causes``), its township list (``--townships``), the sheet of a workbook
(``--sheet``) and where to write the problems of bad input (``--problems``);
the options are declared and read here, once.
"""

from __future__ import annotations

import argparse

from .taxonomy import Taxonomy, load_taxonomy

__all__ = ["add_county_options", "add_sheet_option", "taxonomy_of", "townships_of"]


def add_county_options(p: argparse.ArgumentParser) -> None:
    """Add ``--causes`` and ``--townships`` to a subcommand, and
    ``--problems`` (where to write every problem of bad input)."""
    p.add_argument(
        "--causes",
        action="append",
        metavar="FILE",
        help="a county's extra causes or need kinds (CSV; may be repeated)",
    )
    p.add_argument(
        "--townships",
        metavar="FILE",
        help="CSV whose 'name' column lists the county's townships; any other "
        "township is an error",
    )
    p.add_argument(
        "--problems",
        metavar="OUT",
        help="when the input is bad, also write every problem to this CSV or "
        "XLSX file (file, row, column, value, rule), to fix a large file in a "
        "spreadsheet; only the first 50 are printed",
    )


def add_sheet_option(
    p: argparse.ArgumentParser, what: str, flag: str = "--sheet"
) -> None:
    """Add ``--sheet`` (or ``flag``) for the sheet of an XLSX file.

    ``what`` names the file it applies to in the help ("the file", "the
    households file").
    """
    p.add_argument(
        flag,
        metavar="NAME_OR_INDEX",
        help=f"the sheet of {what} to read when it is an XLSX workbook: its "
        "name, or its position counted from 0 (default the first that is not "
        "hidden; zfb warns when other sheets shown hold data)",
    )


def taxonomy_of(args: argparse.Namespace) -> Taxonomy:
    """The taxonomy, extended by the ``--causes`` files when given."""
    return load_taxonomy(getattr(args, "causes", None) or None)


def townships_of(args: argparse.Namespace) -> list[str] | None:
    """The townships of the ``--townships`` file (its ``name`` column, else
    its first), or None when the option is not given."""
    path = getattr(args, "townships", None)
    if not path:
        return None
    from .io import read_table

    table = read_table(path)
    col = "name" if "name" in table.columns else table.columns[0]
    return [t for t in table[col] if t]
