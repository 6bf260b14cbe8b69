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

from ..arguments import taxonomy_of, townships_of
from ..matching.states import HELD_STATES, MatchBook
from .cli import add_commands  # the parser, kept light
from .engine import open_store
from .export import PersonalDataWarning, export_table
from .imports import import_file
from .models import PERSONAL_COLUMNS
from .names import ENV_ACTOR
from .records import match_book, save_matches
from .research import research_export
from .roles import Role, view

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
