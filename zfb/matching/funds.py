"""Matching funds: a funder matches other donors' pledges, at a ratio, up to a cap.

A matching fund (配捐) adds ``ratio`` CNY to a need for each CNY a donor
pledges to it, until the fund's ``cap`` is spent, as in the matching
campaigns of GlobalGiving. A fund may be limited to needs its ``tags`` serve
and to some ``townships`` (the rules of a project's eligibility), to pledges
made between ``start`` and ``end``, and to ``per_pledge_cap`` CNY per pledge.
A fund never matches its own funder's pledges, and never fills a need beyond
its amount.

Pledges are matched in the order they were made (``pledged_on``, then
``pledge_id``), each by the first fund of the table that applies and has
money left; that order is the rule, so a run is reproducible. Crowdfunding
progress shows donors' money (``pledged``) and matched money (``matched``)
apart.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, Problem, ValidationError
from ..taxonomy import Taxonomy, load_taxonomy
from .eligibility import build_eligibility
from .scoring import ScoreWeights

__all__ = ["FUND_COLUMNS", "MatchingFund", "funds_frame", "read_funds", "apply_pledges"]

logger = logging.getLogger(__name__)

#: Columns of a funds table, in order.
FUND_COLUMNS = [
    "fund_id",
    "funder",
    "ratio",
    "cap",
    "per_pledge_cap",
    "tags",
    "townships",
    "start",
    "end",
]


@dataclass(frozen=True)
class MatchingFund:
    """One matching fund.

    Parameters
    ----------
    fund_id : str
        Unique id.
    funder : str
        Who pays; pledges whose ``donor`` equals it are not matched.
    ratio : float
        CNY added per CNY pledged, more than 0 (1.0 doubles each pledge).
    cap : float
        Most CNY the fund adds in all, more than 0.
    per_pledge_cap : float, optional
        Most CNY the fund adds to one pledge.
    tags : str, optional
        ``;``-joined cause or need-kind codes: only needs these tags serve
        are matched (see :func:`zfb.matching.covers`). Default: every need.
    townships : str, default="*"
        ``;``-joined townships, or ``*`` for the whole county.
    start, end : datetime.date, optional
        Only pledges made on or after ``start`` and on or before ``end``.

    Raises
    ------
    ConfigError
        If an id is empty, a ratio, cap or per-pledge cap is not positive, or
        ``end`` is before ``start``.
    """

    fund_id: str
    funder: str
    ratio: float
    cap: float
    per_pledge_cap: float | None = None
    tags: str | None = None
    townships: str = "*"
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        where = f"matching fund {self.fund_id!r}"
        if not str(self.fund_id).strip() or not str(self.funder).strip():
            raise ConfigError(f"{where}: fund_id and funder must not be empty")
        for name in ("ratio", "cap"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value)):
                raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
            if value <= 0:
                raise ConfigError(f"{where}: {name} must be more than 0, got {value}")
        if self.per_pledge_cap is not None and not self.per_pledge_cap > 0:
            raise ConfigError(
                f"{where}: per_pledge_cap must be more than 0, got "
                f"{self.per_pledge_cap!r}"
            )
        if self.start and self.end and self.end < self.start:
            raise ConfigError(f"{where}: end {self.end} is before start {self.start}")


def _optional(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _as_date(value, where: str) -> dt.date | None:
    value = _optional(value)
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ConfigError(
            f"{where}: expected a date YYYY-MM-DD, got {value!r}"
        ) from None


def _fund_from_mapping(row: dict, where: str) -> MatchingFund:
    unknown = sorted(set(row) - set(FUND_COLUMNS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: "
            f"{', '.join(FUND_COLUMNS)}"
        )
    missing = [
        k
        for k in ("fund_id", "funder", "ratio", "cap")
        if _optional(row.get(k)) is None
    ]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    try:
        ratio, cap = float(row["ratio"]), float(row["cap"])
        per = _optional(row.get("per_pledge_cap"))
        per = None if per is None else float(per)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: ratio, cap and per_pledge_cap must be numbers"
        ) from None
    return MatchingFund(
        fund_id=str(row["fund_id"]).strip(),
        funder=str(row["funder"]).strip(),
        ratio=ratio,
        cap=cap,
        per_pledge_cap=per,
        tags=_optional(row.get("tags")),
        townships=_optional(row.get("townships")) or "*",
        start=_as_date(row.get("start"), f"{where}, start"),
        end=_as_date(row.get("end"), f"{where}, end"),
    )


def read_funds(path: str | Path) -> list[MatchingFund]:
    """Read matching funds from a TOML or CSV/XLSX file.

    A TOML file holds one ``[[fund]]`` table per fund; a CSV or XLSX file one
    row per fund; the keys or columns are :data:`FUND_COLUMNS`.

    Returns
    -------
    list of MatchingFund
        In file order (the order in which funds are tried).

    Raises
    ------
    ConfigError
        If a fund is incomplete or wrong, or two funds share an id.
    InputError
        If the file cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() == ".toml":
        from .modes import read_toml

        rows = read_toml(path).get("fund", [])
        if not isinstance(rows, list):
            raise ConfigError(f"{path}: write each fund as a [[fund]] table")
    else:
        from ..io import read_table

        rows = read_table(path).to_dict("records")
    funds = [
        _fund_from_mapping(dict(r), f"{path}, fund {i + 1}") for i, r in enumerate(rows)
    ]
    ids = [f.fund_id for f in funds]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{path}: fund id(s) used twice: {', '.join(dupes)}")
    return funds


def funds_frame(funds: list[MatchingFund]) -> pd.DataFrame:
    """The funds as a table with the columns :data:`FUND_COLUMNS`, one row each."""
    return pd.DataFrame([vars(f) for f in funds], columns=FUND_COLUMNS)


def fund_eligibility(
    households: pd.DataFrame,
    funds: list[MatchingFund],
    taxonomy: Taxonomy | None = None,
) -> np.ndarray:
    """Which fund may match pledges to which household's need.

    Returns
    -------
    ndarray of bool, shape (n_households, n_funds)
        A fund without tags serves every need of its townships.
    """
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    n_h, n_f = len(households), len(funds)
    out = np.zeros((n_h, n_f), dtype=bool)
    if n_f == 0 or n_h == 0:
        return out
    every = ";".join(taxonomy.primaries + list(taxonomy.need_kinds.index))
    as_projects = pd.DataFrame(
        {
            "project_id": [f.fund_id for f in funds],
            "tags": [f.tags or every for f in funds],
            "budget": [f.cap for f in funds],
            "capacity": 1,
            "townships": [f.townships for f in funds],
            "modes": "single",
        }
    )
    elig = build_eligibility(
        households.reset_index(drop=True), as_projects, taxonomy, ScoreWeights()
    )
    out[elig.edges["h"].to_numpy(), elig.edges["p"].to_numpy()] = True
    # a household without an amount has no edge, but its pledges are matched
    # on its causes just the same when the fund has no tags
    untagged = np.array([f.tags is None for f in funds])
    town = households["township"].astype(str).to_numpy()
    for j in np.flatnonzero(untagged):
        cover = funds[j].townships
        if cover.strip() == "*":
            out[:, j] = True
        else:
            out[:, j] = np.isin(town, [t.strip() for t in cover.split(";")])
    return out


@dataclass
class PledgeLedger:
    """Money of each pledge and fund after pledges were applied in order.

    Attributes
    ----------
    applied : ndarray of float, shape (n_pledges,)
        Part of each pledge that went to its need.
    matched : ndarray of float, shape (n_pledges,)
        Money a fund added to each pledge.
    fund : ndarray of int, shape (n_pledges,)
        Position of the fund that matched it, -1 if none.
    filled : ndarray of float, shape (n_needs,)
        Pledged plus matched money of each need.
    fund_spent : ndarray of float, shape (n_funds,)
    """

    applied: np.ndarray
    matched: np.ndarray
    fund: np.ndarray
    filled: np.ndarray
    fund_spent: np.ndarray


def apply_pledges(
    need: np.ndarray,
    target: np.ndarray,
    amount: np.ndarray,
    order: np.ndarray,
    *,
    fund_ok: np.ndarray | None = None,
    ratio: np.ndarray | None = None,
    cap: np.ndarray | None = None,
    per_pledge_cap: np.ndarray | None = None,
) -> PledgeLedger:
    """Apply pledges to needs in order, each matched by the first fund that can.

    Parameters
    ----------
    need : ndarray of float, shape (n_needs,)
        Amount of each need; NaN for a need whose amount is unknown (its
        pledges are not applied).
    target : ndarray of int, shape (n_pledges,)
        The need of each pledge.
    amount : ndarray of float, shape (n_pledges,)
    order : ndarray of int, shape (n_pledges,)
        The order in which pledges are applied (a permutation).
    fund_ok : ndarray of bool, shape (n_pledges, n_funds), optional
        Whether each fund may match each pledge (target, dates and donor
        checked by the caller).
    ratio, cap, per_pledge_cap : ndarray of float, shape (n_funds,), optional
        ``per_pledge_cap`` is ``inf`` where a fund has none.

    Returns
    -------
    PledgeLedger

    Notes
    -----
    A pledge larger than what is left of its need is applied in part; the
    rest is returned to the donor. A fund's match is also limited by what is
    left of the need after the pledge.
    """
    n_pl = len(target)
    n_f = 0 if fund_ok is None else fund_ok.shape[1]
    room = np.nan_to_num(np.asarray(need, dtype=float), nan=0.0).copy()
    filled = np.zeros(len(need))
    applied = np.zeros(n_pl)
    matched = np.zeros(n_pl)
    fund = np.full(n_pl, -1, dtype=np.int64)
    left = np.zeros(n_f) if cap is None else np.asarray(cap, dtype=float).copy()
    for k in order.tolist():
        i = int(target[k])
        a = min(float(amount[k]), room[i])
        applied[k] = a
        room[i] -= a
        if n_f and a > 0 and room[i] > 0:
            for j in np.flatnonzero(fund_ok[k] & (left > 0)).tolist():
                m = min(ratio[j] * a, per_pledge_cap[j], left[j], room[i])
                matched[k], fund[k] = m, j
                left[j] -= m
                room[i] -= m
                break
        filled[i] += applied[k] + matched[k]
    spent = np.zeros(n_f) if cap is None else np.asarray(cap, dtype=float) - left
    return PledgeLedger(applied, matched, fund, filled, spent)


def fund_permissions(
    funds: list[MatchingFund],
    household_ok: np.ndarray,
    target: np.ndarray,
    donor: np.ndarray,
    pledged_on: np.ndarray,
) -> np.ndarray:
    """Whether each fund may match each pledge: the need, the donor, the date.

    Parameters
    ----------
    funds : list of MatchingFund
    household_ok : ndarray of bool, shape (n_needs, n_funds)
        See :func:`fund_eligibility`.
    target : ndarray of int, shape (n_pledges,)
    donor : ndarray of str, shape (n_pledges,)
    pledged_on : ndarray of object, shape (n_pledges,)
        ``datetime.date`` or None (a pledge without a date is matched by
        funds without dates only).

    Returns
    -------
    ndarray of bool, shape (n_pledges, n_funds)
    """
    ok = household_ok[target].copy()
    for j, f in enumerate(funds):
        ok[:, j] &= donor != f.funder
        if f.start is not None or f.end is not None:
            dated = np.array([d is not None for d in pledged_on], dtype=bool)
            inside = np.array(
                [
                    d is not None
                    and (f.start is None or d >= f.start)
                    and (f.end is None or d <= f.end)
                    for d in pledged_on
                ],
                dtype=bool,
            )
            ok[:, j] &= dated & inside
    return ok


def check_fund_ids(funds: list[MatchingFund]) -> None:
    """Raise :class:`ValidationError` if two funds share an id."""
    ids = [f.fund_id for f in funds]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValidationError(
            Problem("<funds>", None, "fund_id", d, "fund id used twice") for d in dupes
        )
