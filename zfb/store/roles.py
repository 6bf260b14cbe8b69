"""Roles and the views of the store that each role reads.

Every read of the store goes through :func:`view`, which builds the table a
role may see, filtering rows in the database and removing or transforming
columns afterwards:

============= ==========================================================
role          what it sees
============= ==========================================================
cadre         the households of its own villages, with the head's name
              and phone number, and their causes, needs, members, matches
              and pledges; all projects and funders
funder        every household's needs with no name, no phone, no
              ``household_id`` and the village generalised to its
              township; the matches and pledges of its own projects
analyst       every table except the audit log, with ``household_id``
              replaced by a pseudonym of this store (the same household
              gets the same pseudonym in every table), no names, no
              phone numbers, no free text, no actors
administrator everything, the audit log included
============= ==========================================================

Free-text columns (``help_plan``, ``notes``, the ``note`` of a change of a
match's status) and the input's unknown columns (``extra``) may hold
anything, names included: only cadres and administrators see them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .engine import Store
from .errors import AccessError
from .models import (
    HOUSEHOLD_COLUMNS,
    PERSONAL_COLUMNS,
    audit_log,
    causes,
    funders,
    household_causes,
    households,
    match_history,
    matches,
    members,
    needs,
    pledges,
    projects,
)
from .names import ROLES, TABLES

__all__ = ["ROLES", "TABLES", "Role", "analyst_pseudonym", "view"]

_FREE_TEXT = ("help_plan", "notes")
_KEY_HEX = 16


@dataclass(frozen=True)
class Role:
    """Who reads the store, and what of it they may see.

    Parameters
    ----------
    kind : {"cadre", "funder", "analyst", "administrator"}
    villages : frozenset of (str, str)
        For a cadre: the ``(township, village)`` pairs of its villages.
    funder : str, optional
        For a funder: its name, which limits matches and pledges to its own
        projects and pledges. ``None`` shows those of every funder.

    Examples
    --------
    >>> Role.cadre([("泼机镇", "泼机镇第1村")]).kind
    'cadre'
    """

    kind: str
    villages: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    funder: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ROLES:
            raise AccessError(
                f"unknown role {self.kind!r}; use one of {', '.join(ROLES)}"
            )
        if self.villages and self.kind != "cadre":
            raise AccessError("only a cadre's role names villages")
        if self.funder is not None and self.kind != "funder":
            raise AccessError("only a funder's role names a funder")

    @classmethod
    def cadre(cls, villages: Iterable[tuple[str, str] | str]) -> Role:
        """A cadre of ``villages``: pairs or ``"township/village"`` strings."""
        pairs = set()
        for v in villages:
            if isinstance(v, str):
                township, sep, village = v.partition("/")
                if not sep or not township.strip() or not village.strip():
                    raise AccessError(
                        f"a cadre's village is written TOWNSHIP/VILLAGE, got {v!r}"
                    )
                v = (township.strip(), village.strip())
            pairs.add((str(v[0]), str(v[1])))
        return cls("cadre", frozenset(pairs))

    @classmethod
    def funder_of(cls, name: str | None = None) -> Role:
        """A funder (``name`` limits matches and pledges to its own)."""
        return cls("funder", funder=name)

    @classmethod
    def analyst(cls) -> Role:
        """An analyst: pseudonyms only."""
        return cls("analyst")

    @classmethod
    def administrator(cls) -> Role:
        """An administrator: everything."""
        return cls("administrator")

    @classmethod
    def parse(
        cls,
        kind: str,
        villages: Iterable[str] = (),
        funder: str | None = None,
    ) -> Role:
        """Build a role from command-line words."""
        if kind == "cadre":
            role = cls.cadre(villages)
            if not role.villages:
                raise AccessError(
                    "a cadre's role needs its villages: --village TOWNSHIP/VILLAGE"
                )
            return role
        if kind == "funder":
            return cls.funder_of(funder)
        return cls(kind)

    @property
    def sees_personal(self) -> bool:
        """Whether the role sees names, phone numbers and free text."""
        return self.kind in ("cadre", "administrator")


def analyst_pseudonym(salt: bytes, keys: pd.Series) -> pd.Series:
    """The analyst pseudonym of each ``household_id``: ``A`` + keyed hash.

    A keyed hash with the store's own salt (made when the store is
    created): the same household always gets the same pseudonym in one
    store, and nobody without the salt can link a pseudonym to a
    ``household_id``.
    """
    cache: dict[str, str] = {}

    def one(key: object) -> object:
        if key is None or key is pd.NA or (isinstance(key, float) and np.isnan(key)):
            return pd.NA
        key = str(key)
        if key not in cache:
            digest = hmac.new(salt, key.encode("utf-8"), hashlib.sha256).hexdigest()
            cache[key] = "A" + digest[:_KEY_HEX]
        return cache[key]

    return keys.map(one).astype("string")


# row filters
def _cadre_households(role: Role):
    """Condition on ``households`` selecting a cadre's villages."""
    if not role.villages:
        return sa.false()
    return sa.or_(
        *(
            sa.and_(households.c.township == t, households.c.village == v)
            for t, v in sorted(role.villages)
        )
    )


def _own_households(role: Role, column):
    """Condition on a ``household_id`` column for a cadre's villages."""
    ids = sa.select(households.c.household_id).where(_cadre_households(role))
    return column.in_(ids)


def _own_projects(role: Role, column):
    ids = (
        sa.select(projects.c.project_id)
        .join(funders, funders.c.funder_id == projects.c.funder_id)
        .where(funders.c.name == role.funder)
    )
    return column.in_(ids)


def _frame(conn, stmt) -> pd.DataFrame:
    result = conn.execute(stmt)
    keys = list(result.keys())
    rows = result.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(keys)
    return pd.DataFrame(
        {
            k: pd.Series(list(v), dtype=object)
            for k, v in zip(keys, columns, strict=True)
        },
        columns=keys,
    )


def _denied(table: str, role: Role) -> AccessError:
    return AccessError(f"the {role.kind} role may not read the {table} table")


# dtypes of the canonical tables
_TEXT = sa.Text, sa.String


def _typed(df: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    for col in df.columns:
        if col not in table.c:
            continue
        kind = table.c[col].type
        if isinstance(kind, sa.Boolean):
            df[col] = df[col].astype("boolean")
        elif isinstance(kind, (sa.Integer, sa.SmallInteger)):
            nullable = table.c[col].nullable or df[col].isna().any()
            df[col] = df[col].astype("Int64" if nullable else "int64")
        elif isinstance(kind, sa.Double):
            df[col] = pd.to_numeric(df[col]).astype("float64")
        elif isinstance(kind, sa.Date):
            df[col] = pd.to_datetime(df[col])
        elif isinstance(kind, sa.DateTime):
            df[col] = pd.to_datetime(df[col], utc=True)
        elif isinstance(kind, _TEXT):
            df[col] = df[col].astype("string")
    return df


def _expand_extra(df: pd.DataFrame) -> pd.DataFrame:
    """Turn the ``extra`` JSON column back into the input's own columns."""
    texts = df.pop("extra")
    values = [json.loads(t) if isinstance(t, str) and t else {} for t in texts]
    keys = list(dict.fromkeys(k for v in values for k in v))
    for key in keys:
        if key in df.columns:
            continue
        df[key] = pd.Series([v.get(key, "") for v in values], index=df.index).astype(
            "string"
        )
    return df


# households
def _households(conn, role: Role, salt: bytes) -> pd.DataFrame:
    stmt = sa.select(households).order_by(households.c.household_id)
    if role.kind == "cadre":
        stmt = stmt.where(_cadre_households(role))
    df = _typed(_frame(conn, stmt), households)
    ids = sa.select(households.c.household_id)
    if role.kind == "cadre":
        ids = ids.where(_cadre_households(role))
    lists: dict[str, list[str]] = {}
    for hid, code in conn.execute(
        sa.select(household_causes.c.household_id, household_causes.c.code)
        .where(household_causes.c.household_id.in_(ids))
        .order_by(household_causes.c.household_id, household_causes.c.rank)
    ):
        lists.setdefault(hid, []).append(code)
    joined = pd.Series({k: ";".join(v) for k, v in lists.items()}, dtype=object)
    need = _frame(
        conn,
        sa.select(needs.c.household_id, needs.c.kind, needs.c.amount)
        .where(needs.c.household_id.in_(ids))
        .order_by(needs.c.need_id),
    ).drop_duplicates("household_id", keep="first")
    need = need.set_index("household_id")
    df["causes"] = df["household_id"].map(joined).fillna("").astype("str")
    df["need_kind"] = df["household_id"].map(need["kind"]).astype("string")
    df["need_amount"] = pd.to_numeric(df["household_id"].map(need["amount"])).astype(
        "float64"
    )
    df = df.drop(columns=["taxonomy_version", "created_at", "updated_at"])
    # canonical order: the specification's, then the input's own columns
    from ..schema import column_specs

    order = [c for c in column_specs("households") if c in df.columns]
    core = {
        "household_id",
        "township",
        "village",
        "size",
        "income_per_capita",
        "causes",
        "need_kind",
        "need_amount",
    }
    order = [c for c in order if c in core or df[c].notna().any()]
    df = _expand_extra(df[[*order, "extra", "version"]])
    df = df[[c for c in df.columns if c != "version"] + ["version"]]
    if role.kind in ("cadre", "administrator"):
        return df.reset_index(drop=True)
    keep = [
        c
        for c in df.columns
        if c in HOUSEHOLD_COLUMNS or c in ("causes", "need_kind", "need_amount")
    ]
    keep = [c for c in keep if c not in (*PERSONAL_COLUMNS, *_FREE_TEXT, "group")]
    df = df[keep]
    if role.kind == "analyst":
        df = df.assign(household_id=analyst_pseudonym(salt, df["household_id"]))
        return df.sort_values("household_id").reset_index(drop=True)
    # funder: no identifier, village generalised to its township
    df = df.drop(columns=["household_id", "village"])
    return df.sort_values(["township", "causes"], kind="stable").reset_index(drop=True)


# the other tables
def _by_household(conn, role, salt, table: sa.Table, order) -> pd.DataFrame:
    stmt = sa.select(table).order_by(*order)
    if role.kind == "cadre":
        stmt = stmt.where(_own_households(role, table.c.household_id))
    df = _typed(_frame(conn, stmt), table)
    df = df.drop(columns=[c for c in ("created_at", "updated_at") if c in df.columns])
    if role.kind == "analyst":
        df["household_id"] = analyst_pseudonym(salt, df["household_id"])
        df = df.drop(columns=[c for c in ("version",) if c in df.columns])
    return df.reset_index(drop=True)


def _needs(conn, role, salt) -> pd.DataFrame:
    if role.kind != "funder":
        return _by_household(conn, role, salt, needs, [needs.c.need_id])
    stmt = (
        sa.select(
            needs.c.need_id,
            households.c.township,
            needs.c.kind,
            needs.c.amount,
            needs.c.cause,
        )
        .join(households, households.c.household_id == needs.c.household_id)
        .order_by(needs.c.need_id)
    )
    return _typed(_frame(conn, stmt), needs).astype({"township": "string"})


def _funders(conn, role, salt) -> pd.DataFrame:
    cols = [funders.c.funder_id, funders.c.name.label("funder")]
    if role.kind == "administrator":
        cols.append(funders.c.version)
    df = _typed(_frame(conn, sa.select(*cols).order_by(funders.c.funder_id)), funders)
    return df.astype({"funder": "string"})


def _projects(conn, role, salt) -> pd.DataFrame:
    stmt = (
        sa.select(projects, funders.c.name.label("funder"))
        .join(funders, funders.c.funder_id == projects.c.funder_id)
        .order_by(projects.c.project_id)
    )
    df = _typed(_frame(conn, stmt), projects)
    df["funder"] = df["funder"].astype("string")
    from ..schema import column_specs

    order = [c for c in column_specs("projects") if c in df.columns]
    core = {"project_id", "funder", "tags", "budget", "capacity", "townships"}
    core |= {"per_household_cap", "modes"}
    order = [c for c in order if c in core or df[c].notna().any()]
    if role.kind != "administrator":
        return df[order].reset_index(drop=True)
    df = _expand_extra(df[[*order, "extra", "version"]])
    return df[[c for c in df.columns if c != "version"] + ["version"]]


def _matches(conn, role, salt) -> pd.DataFrame:
    if role.kind != "funder":
        return _by_household(conn, role, salt, matches, [matches.c.match_id])
    cols = [c for c in matches.c if c.name not in ("household_id", "created_at")]
    stmt = (
        sa.select(*cols, households.c.township)
        .join(households, households.c.household_id == matches.c.household_id)
        .order_by(matches.c.match_id)
    )
    if role.funder is not None:
        stmt = stmt.where(_own_projects(role, matches.c.project_id))
    df = _typed(_frame(conn, stmt), matches).drop(columns=["updated_at"])
    return df.astype({"township": "string"})


def _match_history(conn, role, salt) -> pd.DataFrame:
    stmt = sa.select(match_history).order_by(match_history.c.history_id)
    if role.kind == "cadre":
        mine = sa.select(matches.c.match_id).where(
            _own_households(role, matches.c.household_id)
        )
        stmt = stmt.where(match_history.c.match_id.in_(mine))
    elif role.kind == "funder" and role.funder is not None:
        mine = sa.select(matches.c.match_id).where(
            _own_projects(role, matches.c.project_id)
        )
        stmt = stmt.where(match_history.c.match_id.in_(mine))
    df = _typed(_frame(conn, stmt), match_history)
    if role.kind != "administrator":
        df = df.drop(columns=["actor"])
    if not role.sees_personal:
        df = df.drop(columns=["note"])
    return df


def _pledges(conn, role, salt) -> pd.DataFrame:
    cols = [c for c in pledges.c if c.name not in ("created_at", "updated_at")]
    stmt = (
        sa.select(*cols, funders.c.name.label("funder"))
        .join(funders, funders.c.funder_id == pledges.c.funder_id)
        .order_by(pledges.c.pledge_id)
    )
    if role.kind == "cadre":
        stmt = stmt.where(_own_households(role, pledges.c.household_id))
    if role.kind == "funder":
        stmt = sa.select(
            *[c for c in cols if c.name != "household_id"],
            funders.c.name.label("funder"),
            households.c.township,
        ).select_from(
            pledges.join(funders, funders.c.funder_id == pledges.c.funder_id).outerjoin(
                households, households.c.household_id == pledges.c.household_id
            )
        )
        if role.funder is not None:
            stmt = stmt.where(funders.c.name == role.funder)
        stmt = stmt.order_by(pledges.c.pledge_id)
    df = _typed(_frame(conn, stmt), pledges)
    for col in ("funder", "township"):
        if col in df.columns:
            df[col] = df[col].astype("string")
    if role.kind == "analyst":
        df["household_id"] = analyst_pseudonym(salt, df["household_id"])
        df = df.drop(columns=["version"])
    return df


def _causes(conn, role, salt) -> pd.DataFrame:
    stmt = sa.select(causes).order_by(causes.c.taxonomy_version, causes.c.code)
    return _typed(_frame(conn, stmt), causes)


def _audit(conn, role, salt) -> pd.DataFrame:
    return _typed(
        _frame(conn, sa.select(audit_log).order_by(audit_log.c.audit_id)), audit_log
    )


_VIEWS = {
    "households": (_households, ROLES),
    "household_causes": (
        lambda c, r, s: _by_household(
            c,
            r,
            s,
            household_causes,
            [household_causes.c.household_id, household_causes.c.rank],
        ),
        ("analyst", "cadre", "administrator"),
    ),
    "causes": (_causes, ROLES),
    "needs": (_needs, ROLES),
    "members": (
        lambda c, r, s: _by_household(c, r, s, members, [members.c.member_id]),
        ("analyst", "cadre", "administrator"),
    ),
    "funders": (_funders, ROLES),
    "projects": (_projects, ROLES),
    "matches": (_matches, ROLES),
    "match_history": (_match_history, ROLES),
    "pledges": (_pledges, ROLES),
    "audit_log": (_audit, ("administrator",)),
}


def view(store: Store, table: str, role: Role) -> pd.DataFrame:
    """Read one table of the store as ``role`` may see it.

    Parameters
    ----------
    store : Store
    table : str
        One of :data:`TABLES`.
    role : Role

    Returns
    -------
    DataFrame
        RangeIndex. ``households`` is the canonical households table of
        ``docs/data-model.md`` (``causes`` joined by ``;``, main cause
        first; ``need_kind``, ``need_amount``), with the input's own columns
        after the canonical ones and, for cadres and administrators,
        ``name``, ``phone`` and the ``version`` to name when writing. An
        optional column that no household fills is left out. ``projects``
        is the canonical projects table. Other tables are as stored, less
        the columns the role may not see (see the module's table).

    Raises
    ------
    AccessError
        If ``table`` is unknown or the role may not read it.
    """
    if table not in _VIEWS:
        raise AccessError(f"unknown table {table!r}; the store has {', '.join(TABLES)}")
    build, allowed = _VIEWS[table]
    if role.kind not in allowed:
        raise _denied(table, role)
    salt = store.salt if role.kind == "analyst" else b""
    with store.read() as conn:
        return build(conn, role, salt)
