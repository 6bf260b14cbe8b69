"""The store's subcommands of ``zfb``: ``import`` and ``export``.

Only the parser lives here, with names from :mod:`zfb.store.names`: building
the ``zfb`` command's parser imports neither SQLAlchemy nor the store. Each
command imports :mod:`zfb.store.commands`, which does the work, when it runs.
"""

from __future__ import annotations

import argparse

from ..arguments import add_county_options, add_sheet_option
from .names import ENV_ACTOR, ENV_URL, KINDS, ROLES, TABLES

__all__ = ["add_commands"]


def _run(name: str):
    """A ``func`` that runs :mod:`zfb.store.commands`' ``name`` on the args."""

    def run(args: argparse.Namespace) -> int:
        from . import commands

        return getattr(commands, name)(args)

    run.__name__ = name
    return run


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        help=f"the store: sqlite:///FILE, postgresql://USER@HOST/DB or a file "
        f"path (default ${ENV_URL}, else zfb.sqlite in this folder)",
    )
    p.add_argument(
        "--actor",
        metavar="NAME",
        help=f"who acts, for the audit log (default ${ENV_ACTOR}, else your "
        "login name)",
    )


def add_commands(subparsers) -> None:
    """Add ``import`` and ``export`` to the subparsers of the ``zfb`` command.

    Parameters
    ----------
    subparsers
        What :meth:`argparse.ArgumentParser.add_subparsers` returned. Each
        command sets ``func`` to the function that runs it, taking the parsed
        arguments and returning the exit status.
    """
    p = subparsers.add_parser(
        "import",
        help="import a households, projects or pledges file into the store",
        description="Check a file and write it into the store in one "
        "transaction: all of it or nothing. New records are added, changed ones "
        "updated (the audit log names the fields changed), and importing the "
        "same file again changes nothing. Heads' names and phone numbers are "
        "kept for the cadres of their villages; ID numbers become pseudonyms "
        "and are never stored.",
    )
    p.add_argument("file", help="the CSV or XLSX file")
    p.add_argument(
        "--kind",
        choices=KINDS,
        help="what the file holds (default: the table its --mapping makes, else "
        "guessed from its headers)",
    )
    p.add_argument(
        "--mapping",
        metavar="NAME_OR_FILE",
        help="survey mapping that turns the file into households or projects "
        "(costa_rica, kiva_loans, kiva_themes, or a .toml file; see "
        "docs/surveys.md); it decides the kind",
    )
    add_sheet_option(p, "the file")
    add_county_options(p)
    _store_args(p)
    p.set_defaults(func=_run("cmd_import"))

    p = subparsers.add_parser(
        "export",
        help="export a table of the store as a role sees it (CSV, XLSX, Parquet)",
        description="Write one table of the store as the role sees it: a "
        "cadre the households of its villages, a funder no names, IDs or "
        "villages, an analyst pseudonyms only. Names, phone numbers and free "
        "text are left out unless --personal is given (cadre and administrator "
        "only). The table 'research' is the de-identified households table, "
        "k-anonymous over township, household size and income band.",
    )
    p.add_argument("table", choices=[*TABLES, "research"], help="the table")
    p.add_argument(
        "--out", required=True, metavar="FILE", help=".csv, .xlsx or .parquet"
    )
    p.add_argument(
        "--role", choices=ROLES, default="administrator", help="default administrator"
    )
    p.add_argument(
        "--village",
        action="append",
        metavar="TOWNSHIP/VILLAGE",
        help="a cadre's village (may be repeated; --role cadre)",
    )
    p.add_argument("--funder", metavar="NAME", help="the funder's name (--role funder)")
    p.add_argument(
        "--personal",
        action="store_true",
        help="also write names, phone numbers and free text (the file is then "
        "personal data)",
    )
    p.add_argument(
        "--k",
        type=int,
        default=5,
        help="smallest group of a research export (default 5)",
    )
    _store_args(p)
    p.set_defaults(func=_run("cmd_export"))
