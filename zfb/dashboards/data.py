"""Where the dashboards take their county from: a folder of files or a store.

A dashboard notebook calls :func:`load_county` once. The county comes from,
in this order:

1. a store, when ``ZFB_DASHBOARD_DB`` holds its URL (``zfb serve --db``):
   households and projects as :func:`zfb.store.commands.load_households`
   reads them (no names, phone numbers or free text), the matches that are
   proposed, accepted, funded or delivered, and the held and declined ones
   with their histories as a :class:`~zfb.matching.states.MatchBook`;
2. a folder, when ``ZFB_DASHBOARD_DATA`` names one (``zfb serve --data``),
   holding ``households.csv``, ``projects.csv`` and optionally
   ``matches.csv`` (as ``zfb match`` writes it);
3. the sample county of the repository, ``data/sample/``.

``ZFB_DASHBOARD_MATCHES`` (``zfb serve --matches``) names a matches file
that replaces the folder's own. ``ZFB_DASHBOARD_REGISTRY`` (``zfb serve
--registry``) names a table of the registry's households per township
(columns ``township`` and ``households``), or the folder holds one as
``registry.csv``; the overview then says whether the county's households
are spread over the townships as the registry's are.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ConfigError
from ..matching.states import HELD_STATES, MatchBook
from ..taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "ENV_DATA",
    "ENV_DB",
    "ENV_MATCHES",
    "ENV_REGISTRY",
    "MATCH_COLUMNS",
    "CountyData",
    "accept_in_store",
    "load_county",
    "read_matches",
    "sample_dir",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the folder of households.csv and projects.csv.
ENV_DATA = "ZFB_DASHBOARD_DATA"
#: Environment variable holding the URL of the store the dashboards use.
ENV_DB = "ZFB_DASHBOARD_DB"
#: Environment variable naming a matches file (as ``zfb match`` writes it).
ENV_MATCHES = "ZFB_DASHBOARD_MATCHES"
#: Environment variable naming the registry's households per township.
ENV_REGISTRY = "ZFB_DASHBOARD_REGISTRY"

#: Columns of the matches table the dashboards read.
MATCH_COLUMNS = ["household_id", "project_id", "amount", "score", "explanation"]
#: Columns that name a match's pair.
MATCH_KEYS = ("household_id", "project_id")
#: Statuses of stored matches that count as matched households: proposed,
#: and held (accepted, funded, delivered).
LIVE_STATUSES = ("proposed", *HELD_STATES)
#: Statuses of stored matches a recommender must know: held ones keep their
#: household and room, declined pairs are not recommended again.
BOOK_STATUSES = (*HELD_STATES, "declined")


@dataclass
class CountyData:
    """The tables a dashboard shows.

    Attributes
    ----------
    households : DataFrame
        Canonical households table (``docs/data-model.md``); never names,
        phone numbers or ID numbers.
    projects : DataFrame
        Canonical projects table.
    matches : DataFrame
        At least :data:`MATCH_COLUMNS` (``amount`` and ``score`` float,
        ``explanation`` str); no rows when no match was made. From a store
        also ``match_id``, ``status`` and ``version``.
    source : str
        Where the tables came from, to show on the page: a folder or the
        store's URL with its password hidden.
    db : str or None
        URL of the store, when the county came from one (intake and accepted
        matches are then saved to it).
    taxonomy : Taxonomy
    registry : Series or None
        The registry's households per township (index: township name), when
        a registry table was given.
    book : MatchBook or None
        From a store: its matches in :data:`BOOK_STATUSES` with their
        histories (:func:`zfb.store.match_book`).
    """

    households: pd.DataFrame
    projects: pd.DataFrame
    matches: pd.DataFrame
    source: str
    db: str | None = None
    taxonomy: Taxonomy | None = None
    registry: pd.Series | None = None
    book: MatchBook | None = None

    def __post_init__(self) -> None:
        if self.taxonomy is None:
            self.taxonomy = load_taxonomy()


def sample_dir() -> Path:
    """The folder of the sample county, ``data/sample`` of the repository.

    Raises
    ------
    ConfigError
        If zfb runs from an installed copy without the repository's data;
        then give a folder with ``zfb serve --data DIR``.
    """
    path = Path(__file__).resolve().parents[2] / "data" / "sample"
    if not (path / "households.csv").is_file():
        raise ConfigError(
            f"the sample county is not at {path}; give a folder with "
            "households.csv and projects.csv (zfb serve --data DIR, or "
            f"{ENV_DATA}=DIR)"
        )
    return path


def _empty_matches() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": pd.Series(dtype="str"),
            "project_id": pd.Series(dtype="str"),
            "amount": pd.Series(dtype="float64"),
            "score": pd.Series(dtype="float64"),
            "explanation": pd.Series(dtype="str"),
        }
    )


def read_matches(
    path: str | os.PathLike,
    households: pd.DataFrame | None = None,
    projects: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Read a matches file as ``zfb match`` writes it, checked by
    :func:`zfb.io.validate_matches` (as ``zfb report --matches`` is).

    Parameters
    ----------
    path : str or path-like
    households, projects : DataFrame, optional
        When given, every household and project of the file must be theirs.

    Returns
    -------
    DataFrame
        :data:`MATCH_COLUMNS`, ``amount`` and ``score`` as float (a missing
        score is NaN, a missing explanation empty); other columns kept.

    Raises
    ------
    ValidationError
        With every problem of the file (a missing column, a bad number, an
        unknown household ...).
    """
    from ..io import read_table, validate_matches

    raw = read_table(path)
    out = validate_matches(
        raw, source=str(path), households=households, projects=projects
    )
    if "score" not in out:
        out["score"] = float("nan")
    text = out["explanation"] if "explanation" in out else pd.Series("", out.index)
    out["explanation"] = text.replace("", pd.NA).fillna("").astype("str")
    return out


def _from_store(db: str, taxonomy: Taxonomy) -> CountyData:
    from ..store import match_book, open_store
    from ..store.commands import load_households, load_matches, load_projects

    households = load_households(db)
    projects = load_projects(db)
    with open_store(db) as store:
        book = match_book(store, BOOK_STATUSES)
        shown = store.url
    matches = load_matches(db, LIVE_STATUSES)
    if matches.empty:
        matches = _empty_matches()
    return CountyData(
        households, projects, matches, shown, db=db, taxonomy=taxonomy, book=book
    )


def load_county(
    data: str | os.PathLike | None = None,
    *,
    db: str | None = None,
    matches: str | os.PathLike | None = None,
    registry: str | os.PathLike | None = None,
    taxonomy: Taxonomy | None = None,
) -> CountyData:
    """Read the county a dashboard shows.

    Parameters
    ----------
    data : path, optional
        Folder with ``households.csv`` and ``projects.csv`` (and optionally
        ``matches.csv``). Default ``ZFB_DASHBOARD_DATA``, else
        :func:`sample_dir`.
    db : str, optional
        URL of a store; default ``ZFB_DASHBOARD_DB``. When set, ``data`` is
        not read.
    matches : path, optional
        A matches file; default ``ZFB_DASHBOARD_MATCHES``, else the folder's
        ``matches.csv`` when there is one.
    registry : path, optional
        The registry's households per township
        (:func:`zfb.representativeness.read_registry`); default
        ``ZFB_DASHBOARD_REGISTRY``, else the folder's ``registry.csv`` when
        there is one.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.

    Returns
    -------
    CountyData

    Raises
    ------
    ConfigError
        If the folder lacks a file, or the sample county is not there.
    InputError, ValidationError
        If a file cannot be read or breaks the rules of its table.
    """
    from ..io import read_households, read_projects
    from ..representativeness import read_registry

    tax = taxonomy or load_taxonomy()
    db = db or os.environ.get(ENV_DB) or None
    registry = registry or os.environ.get(ENV_REGISTRY) or None
    if db:
        logger.info("dashboard county from the store %s", db)
        county = _from_store(db, tax)
        county.registry = read_registry(registry) if registry else None
        return county
    folder = Path(data or os.environ.get(ENV_DATA) or sample_dir())
    if registry is None and (folder / "registry.csv").is_file():
        registry = folder / "registry.csv"
    for name in ("households.csv", "projects.csv"):
        if not (folder / name).is_file():
            raise ConfigError(
                f"{folder} has no {name}; a county folder holds households.csv "
                "and projects.csv (zfb generate --out DIR writes both)"
            )
    households = read_households(folder / "households.csv", taxonomy=tax)
    projects = read_projects(folder / "projects.csv", taxonomy=tax)
    path = matches or os.environ.get(ENV_MATCHES) or None
    if path is None and (folder / "matches.csv").is_file():
        path = folder / "matches.csv"
    table = read_matches(path, households, projects) if path else _empty_matches()
    logger.info(
        "dashboard county from %s: %d households, %d projects, %d matches",
        folder,
        len(households),
        len(projects),
        len(table),
    )
    return CountyData(
        households,
        projects,
        table,
        str(folder),
        taxonomy=tax,
        registry=read_registry(registry) if registry else None,
    )


def accept_in_store(db: str, match: pd.DataFrame, *, actor: str) -> str:
    """Record one match as accepted in a store; return its status there.

    Only that match changes (:func:`zfb.store.accept_match`): its row, and
    rows of ``match_history`` with ``actor`` and the time. The store's other
    proposals, their versions and histories are left as they are.

    Parameters
    ----------
    db : str
        URL of the store.
    match : DataFrame
        One row: ``household_id``, ``project_id``, ``amount`` and optionally
        ``score``, ``relevance``, ``priority`` and ``explanation`` (used when
        the store does not hold the pair yet).
    actor : str
        Who accepts, for the history and the audit log: a role or an account
        id (``"funder:dashboard"``), never a person's name.

    Returns
    -------
    str
        ``"accepted"``, or the status the pair already had when it was
        funded or delivered before.

    Raises
    ------
    StoreError
        If the match was declined or expired in the store.
    ConflictError
        If another writer changed the match at the same moment; retry.
    """
    from ..store import accept_match, open_store

    row = match.iloc[0]
    values = {c: row[c] for c in match.columns if c not in MATCH_KEYS}
    with open_store(db) as store:
        _, status = accept_match(
            store,
            str(row["household_id"]),
            str(row["project_id"]),
            actor=actor,
            values=values,
        )
    return status
