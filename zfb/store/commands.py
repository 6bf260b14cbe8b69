"""The store's commands: ``zfb import`` and ``zfb export``, and the readers
that ``zfb match --db`` and ``zfb report --db`` use.

:func:`add_commands` adds the two subcommands to the ``zfb`` parser. Their
errors are :class:`zfb.errors.ZfbError` subclasses, which the command line
prints as one message with exit status 2.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import warnings

import pandas as pd

from ..arguments import add_county_options, add_sheet_option, taxonomy_of, townships_of
from ..matching.states import HELD_STATES, MatchBook
from .engine import ENV_URL, open_store
from .export import PersonalDataWarning, export_table
from .imports import KINDS, import_file
from .models import PERSONAL_COLUMNS
from .records import match_book, save_matches
from .research import research_export
from .roles import ROLES, TABLES, Role, view

__all__ = [
    "ENV_ACTOR",
    "add_commands",
    "cmd_export",
    "cmd_import",
    "load_households",
    "load_match_book",
    "load_matches",
    "load_pledges",
    "load_projects",
    "save_match_result",
]

#: Environment variable naming who runs the commands (for the audit log).
ENV_ACTOR = "ZFB_ACTOR"
_FREE_TEXT = ("help_plan", "notes")


def default_actor() -> str:
    """Who is acting: ``ZFB_ACTOR``, else the login name."""
    actor = os.environ.get(ENV_ACTOR)
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "zfb"


def load_households(db_url: str | None = None) -> pd.DataFrame:
    """Read the households of a store as the canonical table, for matching
    and reports.

    Parameters
    ----------
    db_url : str, optional
        See :func:`zfb.store.engine.resolve_url`.

    Returns
    -------
    DataFrame
        The canonical households table (``docs/data-model.md``), one row per
        household ordered by ``household_id``, RangeIndex; no names, phone
        numbers, free text or columns the store does not know.
    """
    from .models import households

    with open_store(db_url) as store:
        df = view(store, "households", Role.administrator())
    known = set(households.c.keys()) | {"causes", "need_kind", "need_amount"}
    drop = [
        c
        for c in df.columns
        if c in PERSONAL_COLUMNS or c in _FREE_TEXT or c not in known or c == "version"
    ]
    return df.drop(columns=drop)


def load_projects(db_url: str | None = None) -> pd.DataFrame:
    """Read the projects of a store as the canonical projects table, ordered
    by ``project_id``, RangeIndex."""
    from .models import projects

    with open_store(db_url) as store:
        df = view(store, "projects", Role.administrator())
    known = set(projects.c.keys()) | {"funder"}
    return df.drop(columns=[c for c in df.columns if c not in known or c == "version"])


def load_matches(
    db_url: str | None = None, states: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """The store's matches as a matches table (``household_id``,
    ``project_id``, ``amount``, ``score`` as float, ``explanation``,
    ``status``, and the store's other columns), in id order.

    Parameters
    ----------
    db_url : str, optional
    states : tuple of str, optional
        The states to keep; default the live ones, proposed and held
        (``("proposed", *HELD_STATES)``).
    """
    states = ("proposed", *HELD_STATES) if states is None else states
    with open_store(db_url) as store:
        df = view(store, "matches", Role.administrator())
    df = df[df["status"].isin(states)].reset_index(drop=True)
    for col in ("amount", "score"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    text = df["explanation"] if "explanation" in df else pd.Series("", df.index)
    df["explanation"] = text.fillna("").astype("str")
    return df


def load_pledges(db_url: str | None = None) -> tuple[pd.DataFrame, int]:
    """The store's pledges to households, as crowdfunding takes them.

    Returns
    -------
    pledges : DataFrame
        Columns :data:`zfb.matching.crowdfunding.PLEDGE_COLUMNS`
        (``pledge_id``, ``donor`` (the funder's name), ``household_id``,
        ``amount``, ``pledged_on``), the pledges whose status is
        ``pledged``, in id order.
    to_projects : int
        Pledges to a project rather than a household, which crowdfunding
        does not read.
    """
    from ..matching.crowdfunding import PLEDGE_COLUMNS

    with open_store(db_url) as store:
        df = view(store, "pledges", Role.administrator())
    live = df[df["status"] == "pledged"]
    to_household = live["household_id"].notna()
    table = live[to_household].rename(columns={"funder": "donor"})[PLEDGE_COLUMNS]
    # as read from a pledges file: every cell as text
    table = table.astype("str").replace({"None": "", "nan": "", "NaT": ""})
    return table.reset_index(drop=True), int((~to_household).sum())


def load_match_book(db_url: str | None = None) -> MatchBook:
    """The store's held and declined matches, with their histories, for a new
    match run (:meth:`zfb.matching.states.MatchBook.open_tables`)."""
    with open_store(db_url) as store:
        return match_book(store, states=(*HELD_STATES, "declined"))


def save_match_result(
    db_url: str | None, matches: pd.DataFrame, actor: str | None = None
) -> dict[str, int]:
    """Store a match run's ``matches`` table as proposals (see
    :func:`zfb.store.records.save_matches`)."""
    with open_store(db_url) as store:
        return save_matches(store, matches, actor=actor or default_actor())


def cmd_import(args: argparse.Namespace) -> int:
    """``zfb import FILE``: import one file into the store."""
    with open_store(args.db) as store:
        summary = import_file(
            store,
            args.file,
            args.kind,
            actor=args.actor or default_actor(),
            taxonomy=taxonomy_of(args),
            townships=townships_of(args),
            mapping=args.mapping,
            sheet=args.sheet,
        )
        print(summary)
        print(f"store: {store.url}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``zfb export TABLE --out FILE``: export one table as a role sees it."""
    actor = args.actor or default_actor()
    with open_store(args.db) as store:
        if args.table == "research":
            result = research_export(store, args.out, k=args.k, actor=actor)
            print(result)
            print(f"wrote {result.path}")
            return 0
        role = Role.parse(args.role, args.village or (), args.funder)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PersonalDataWarning)
            path = export_table(
                store,
                args.table,
                args.out,
                role=role,
                personal=args.personal,
                actor=actor,
            )
        for w in caught:
            print(f"zfb export: warning: {w.message}", file=sys.stderr)
        print(f"wrote {path}")
    return 0


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
    p.set_defaults(func=cmd_import)

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
    p.set_defaults(func=cmd_export)
