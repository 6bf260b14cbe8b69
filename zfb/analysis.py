"""County analyses of the needs table: cause shares, headline numbers, matches.

Every function takes the canonical tables of ``docs/data-model.md``
(households, projects, and the matches table with at least
``household_id, project_id, amount``) and returns a tidy DataFrame or a dict
of plain numbers. Nothing here loops over households: each analysis is a few
vectorised pandas operations, so a county of tens of thousands of households
takes well under a second.

The words follow the glossary: a household is *matched* when at least one row
of the matches table names it; its *unmet need* is its need amount minus what
its matches give it, never below zero.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Sequence
from importlib import resources
from typing import Literal

import numpy as np
import pandas as pd

from ._causes import split_codes
from .errors import Problem, ValidationError, ZfbWarning
from .taxonomy import REGISTRY_OPTIONS, Taxonomy, load_taxonomy

__all__ = [
    "REGISTRY_NAMES_EN",
    "cause_shares",
    "is_matched",
    "main_cause",
    "matches_by_project",
    "matches_by_township",
    "registry_options",
    "summary",
    "unmatched_by_cause",
    "unmet_need",
]

logger = logging.getLogger(__name__)

Level = Literal["primary", "secondary", "registry"]
Count = Literal["any", "main"]

_LEVELS = ("primary", "secondary", "registry")
_COUNTS = ("any", "main")
_SHARE_COLUMNS = ("cause", "name_zh", "name_en", "households", "total", "share")

#: English glosses of the thirteen registry options, in registry order.
REGISTRY_NAMES_EN: dict[str, str] = {
    "因病": "illness",
    "因残": "disability",
    "因学": "schooling costs",
    "因灾": "disaster",
    "因婚": "marriage costs",
    "缺土地": "lack of land",
    "缺水": "lack of water",
    "缺技术": "lack of skills",
    "缺资金": "lack of capital",
    "缺劳力": "lack of labour",
    "交通条件落后": "poor transport access",
    "自身发展动力不足": "lack of drive to develop",
    "其他": "other",
}


# input checks
def _require(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValidationError(
            Problem(
                f"<{name}>", None, c, "", f"required column missing from the {name}"
            )
            for c in missing
        )


def _check_choice(value: str, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _by_columns(households: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    clash = [c for c in cols if c in _SHARE_COLUMNS]
    if clash:
        raise ValueError(
            f"cannot group by {clash}: the result already has columns of that name; "
            "rename the column first"
        )
    _require(households, cols, "households")
    return cols


# the registry's options
@functools.lru_cache(maxsize=8)
def _registry_options(taxonomy: Taxonomy) -> pd.Series:
    path = resources.files("zfb") / "data" / "registry_options.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    shipped = dict(zip(table["code"], table["registry"], strict=True))
    bad = sorted(set(shipped.values()) - set(REGISTRY_OPTIONS))
    if bad:
        raise ValidationError(
            Problem(
                "zfb/data/registry_options.csv",
                None,
                "registry",
                v,
                "not a registry option",
            )
            for v in bad
        )
    parent = taxonomy.causes["parent"]
    primary = parent.where(parent != "", parent.index)
    out = {}
    for code, prim in primary.items():
        out[code] = shipped.get(code, shipped.get(prim, "其他"))
    return pd.Series(out, name="registry").rename_axis("code")


def registry_options(taxonomy: Taxonomy | None = None) -> pd.Series:
    """Map every cause code to one of the thirteen options of the registry.

    The registry (全国扶贫开发信息系统) offers a fixed list of options (因病,
    因残, ..., 其他); several of them fall under one primary category of the
    taxonomy (缺技术 and 缺劳力 under ``LAB``, 缺土地, 缺水 and 交通条件落后
    under ``RES``), so the option is read from the secondary cause. The
    mapping ships as ``zfb/data/registry_options.csv``:

    - ``ILL`` → 因病, ``DIS`` → 因残, ``EDU`` → 因学, ``DST`` → 因灾,
      ``CAP`` → 缺资金, whole categories;
    - ``LAB.NO_ADULT``, ``LAB.WEAK_LABOUR``, ``LAB.AGEING``,
      ``LAB.CARE_BURDEN`` → 缺劳力; every other ``LAB`` cause → 缺技术;
    - land codes of ``RES`` → 缺土地, water codes → 缺水, road, remoteness,
      market, power and network codes → 交通条件落后, housing and
      relocation codes → 其他;
    - ``FAM.BRIDE_PRICE``, ``FAM.WEDDING`` → 因婚; ``FAM.LOW_DRIVE``,
      ``FAM.GAMBLING_DRUGS``, ``FAM.ALCOHOL`` → 自身发展动力不足; every other
      ``FAM`` cause → 其他.

    Parameters
    ----------
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`. A cause the shipped file does not
        list (a county's own secondary cause) takes the option of its
        primary category.

    Returns
    -------
    Series
        Indexed by cause code (every cause of the taxonomy), values are
        registry options (str).

    Notes
    -----
    A primary code on its own maps to the option of the whole category when
    there is one; ``LAB`` alone maps to 缺技术, ``RES`` and ``FAM`` alone to
    其他, because the registry option cannot be told from the category. So a
    table read from a registry export, where 缺水 was resolved to ``RES``,
    does not get its 缺水 back at this level.
    """
    return _registry_options(taxonomy or load_taxonomy()).copy()


# causes of each household, long form
def _cause_long(causes: pd.Series, taxonomy: Taxonomy) -> pd.DataFrame:
    """One row per (household, listed cause): ``row`` (0-based position),
    ``pos`` (0 for the main cause) and ``code``, as
    :func:`zfb._causes.split_codes` gives them; raises unless every household
    lists a cause and every cause is in ``taxonomy``."""
    long = split_codes(causes)
    row = long["row"].to_numpy()
    empty = np.flatnonzero(np.bincount(row, minlength=len(causes)) == 0)
    if empty.size:
        raise ValidationError(
            Problem(
                "<households>",
                int(i) + 2,
                "causes",
                "",
                "causes must not be empty: list at least one cause code",
            )
            for i in empty
        )
    unknown = ~long["code"].isin(taxonomy.causes.index).to_numpy()
    if unknown.any():
        raise ValidationError(
            Problem(
                "<households>",
                int(r) + 2,
                "causes",
                str(c),
                "unknown cause "
                "code; use a code of `zfb causes` or pass the taxonomy that "
                "defines it",
            )
            for r, c in zip(row[unknown], long["code"][unknown], strict=True)
        )
    return long


def _keys(codes: pd.Series, level: str, taxonomy: Taxonomy) -> pd.Series:
    if level == "secondary":
        return codes
    if level == "primary":
        parent = taxonomy.causes["parent"]
        return codes.map(parent.where(parent != "", parent.index))
    return codes.map(registry_options(taxonomy))


def _names(level: str, taxonomy: Taxonomy) -> pd.DataFrame:
    """Names and display order of the causes at one level, indexed by cause."""
    if level == "registry":
        return pd.DataFrame(
            {
                "name_zh": list(REGISTRY_OPTIONS),
                "name_en": [REGISTRY_NAMES_EN[o] for o in REGISTRY_OPTIONS],
                "order": range(len(REGISTRY_OPTIONS)),
            },
            index=pd.Index(REGISTRY_OPTIONS, name="cause"),
        )
    table = taxonomy.to_frame().set_index("code")
    out = table[["name_zh", "name_en"]].assign(order=range(len(table)))
    return out.rename_axis("cause")


def main_cause(
    households: pd.DataFrame,
    *,
    level: Level = "primary",
    taxonomy: Taxonomy | None = None,
) -> pd.Series:
    """The main cause (主要致贫原因) of each household: the first it lists.

    Parameters
    ----------
    households : DataFrame
        Canonical households table (only ``causes`` is read).
    level : {"primary", "secondary", "registry"}, default "primary"
        Code of the primary category, the cause code as listed, or the
        registry option (see :func:`registry_options`).
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.

    Returns
    -------
    Series of str
        Same index as ``households``, named ``main_cause``.
    """
    _check_choice(level, "level", _LEVELS)
    _require(households, ["causes"], "households")
    tax = taxonomy or load_taxonomy()
    long = _cause_long(households["causes"], tax)
    first = long[long["pos"] == 0]
    keys = _keys(first["code"], level, tax).to_numpy()
    return pd.Series(keys, index=households.index, name="main_cause", dtype=object)


# cause shares
def _shares(
    long: pd.DataFrame, groups: pd.DataFrame, level: str, count: str, tax: Taxonomy
) -> pd.DataFrame:
    """Core of :func:`cause_shares` on the output of :func:`_cause_long`.

    ``groups`` has one row per household (RangeIndex, in the order of
    ``long["row"]``) and the grouping columns; no columns means one group.
    """
    cols = list(groups.columns)

    # one row per (household, cause at this level)
    if count == "main":
        long = long[long["pos"] == 0]
    long = long.assign(cause=_keys(long["code"], level, tax))
    long = long.drop_duplicates(["row", "cause"])
    long = pd.concat(
        [
            groups.iloc[long["row"].to_numpy()].reset_index(drop=True),
            long[["cause"]].reset_index(drop=True),
        ],
        axis=1,
    )

    # counts and denominators
    keys = [*cols, "cause"]
    counts = long.groupby(keys, dropna=False, sort=False).size()
    out = counts.rename("households").reset_index()
    if cols:
        totals = groups.groupby(cols, dropna=False).size().rename("total")
        out = out.merge(totals.reset_index(), on=cols, how="left")
    else:
        out["total"] = len(groups)

    # names and order
    out = out.join(_names(level, tax), on="cause")
    out["households"] = out["households"].astype("int64")
    out["total"] = out["total"].astype("int64")
    out["share"] = out["households"] / out["total"]
    out = out.sort_values(
        [*cols, "households", "order"],
        ascending=[*([True] * len(cols)), False, True],
        na_position="last",
        kind="stable",
    )
    columns = [*keys, "name_zh", "name_en", "households", "total", "share"]
    return out[columns].reset_index(drop=True)


def cause_shares(
    households: pd.DataFrame,
    *,
    level: Level = "primary",
    by: str | Sequence[str] | None = None,
    count: Count = "any",
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Share of households under each cause of poverty, optionally by group.

    Parameters
    ----------
    households : DataFrame
        Canonical households table: ``causes`` (codes joined by ``;``, main
        cause first) and the ``by`` columns are read.
    level : {"primary", "secondary", "registry"}, default "primary"
        ``"primary"`` counts the eight categories; ``"secondary"`` the codes
        as listed (a household that lists only a primary code is counted
        under that primary code); ``"registry"`` the thirteen options of the
        national registry through :func:`registry_options`.
    by : str or list of str, optional
        Column(s) to group by, for example ``"township"``. Households with a
        missing value form their own group (NA).
    count : {"any", "main"}, default "any"
        ``"any"`` counts a household once under every cause it lists, so the
        shares of a group may add up to more than 1, as the registry's
        published multi-cause figures do. ``"main"`` counts only its first
        (main) cause, so the shares of a group add up to 1.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`; pass a county's extended taxonomy
        when its codes appear in ``causes``.

    Returns
    -------
    DataFrame
        Tidy, one row per (group, cause) with at least one household; a
        cause no household of a group lists has no row (read it as 0).
        Columns: the ``by`` columns, ``cause`` (cause code, or the registry
        option in Chinese at ``"registry"`` level), ``name_zh``, ``name_en``,
        ``households`` (int, households of the group counted under the
        cause), ``total`` (int, households in the group: the denominator)
        and ``share`` (float, ``households / total``, 0 to 1). Rows are
        sorted by group, then by ``households`` descending, then in
        taxonomy (or registry) order. RangeIndex.

    Raises
    ------
    ValidationError
        If a column is missing, ``causes`` is empty or holds an unknown code.

    Notes
    -----
    At a coarser level a household is counted once per cause: two
    secondary causes under the same primary count once at primary level,
    and two causes that map to the same registry option count once at
    registry level. The denominator is always every household of the
    group, so shares of different levels are comparable.

    Examples
    --------
    >>> import pandas as pd
    >>> hh = pd.DataFrame({"township": ["A", "A", "B"],
    ...                    "causes": ["ILL.CANCER;ILL.HEART", "EDU", "ILL;LAB"]})
    >>> cause_shares(hh)[["cause", "households", "share"]]
      cause  households     share
    0   ILL           2  0.666667
    1   EDU           1  0.333333
    2   LAB           1  0.333333
    """
    _check_choice(level, "level", _LEVELS)
    _check_choice(count, "count", _COUNTS)
    _require(households, ["causes"], "households")
    cols = _by_columns(households, by)
    tax = taxonomy or load_taxonomy()

    long = _cause_long(households["causes"], tax)
    groups = households[cols].reset_index(drop=True)
    out = _shares(long, groups, level, count, tax)
    logger.debug(
        "cause_shares: %d households, %d rows at %s level",
        len(households),
        len(out),
        level,
    )
    return out


# matched households and unmet need
def _isin(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """Whether each value occurs in ``pool``, by one hash look-up each."""
    index = pd.Index(pool.to_numpy(dtype=object)).unique()
    return index.get_indexer(values.to_numpy(dtype=object)) >= 0


def _match_rows(households: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``matches`` whose household is in ``households``."""
    _require(matches, ["household_id", "project_id", "amount"], "matches")
    known = _isin(matches["household_id"], households["household_id"])
    if not known.all():
        n = int((~known).sum())
        warnings.warn(
            f"{n} row(s) of matches name a household_id that is not in the "
            "households table; they are left out. Pass the households the "
            "matches were made for.",
            ZfbWarning,
            stacklevel=3,
        )
    return matches[known]


def is_matched(households: pd.DataFrame, matches: pd.DataFrame) -> pd.Series:
    """Whether each household is matched.

    A household is matched when at least one row of ``matches`` names its
    ``household_id``, whatever the amount.

    Returns
    -------
    Series of bool
        Same index as ``households``, named ``matched``.
    """
    _require(households, ["household_id"], "households")
    rows = _match_rows(households, matches)
    flag = _isin(households["household_id"], rows["household_id"])
    return pd.Series(flag, index=households.index, name="matched")


def unmet_need(
    households: pd.DataFrame, matches: pd.DataFrame | None = None
) -> pd.Series:
    """What is left of each household's need amount once its matches are paid.

    The unmet need of a household is its ``need_amount`` minus the sum of
    ``amount`` over its rows of ``matches``, never below 0. It is NA for a
    household that states no need amount.

    Returns
    -------
    Series of float
        Same index as ``households``, named ``unmet_need`` (CNY).
    """
    _require(households, ["household_id", "need_amount"], "households")
    need = households["need_amount"].astype("float64")
    if matches is None:
        return need.rename("unmet_need")
    rows = _match_rows(households, matches)
    paid = rows.groupby("household_id")["amount"].sum()
    got = households["household_id"].map(paid).astype("float64").fillna(0.0)
    return (need - got).clip(lower=0.0).rename("unmet_need")


# headline numbers
def _number(value: object) -> float:
    return float(value) if pd.notna(value) else float("nan")


def summary(
    households: pd.DataFrame,
    projects: pd.DataFrame | None = None,
    matches: pd.DataFrame | None = None,
) -> dict[str, int | float]:
    """Headline numbers of a county.

    Parameters
    ----------
    households : DataFrame
        Canonical households table.
    projects : DataFrame, optional
        Canonical projects table.
    matches : DataFrame, optional
        Matches table (``household_id``, ``project_id``, ``amount``, ...).
        Rows naming a household that is not in ``households`` are left out
        with a :class:`~zfb.errors.ZfbWarning`.

    Returns
    -------
    dict
        Plain Python numbers (int counts, float amounts in CNY):

        - ``households``, ``people`` (sum of ``size``), ``townships``,
          ``villages`` (distinct non-missing values, when the column exists),
          ``median_income_per_capita`` (median over households of their
          income per person, NaN for no household),
          ``households_with_need`` (need amount stated),
          ``total_need`` (sum of need amounts);
        - with ``projects``: ``projects``, ``funders``, ``total_budget``,
          ``total_capacity`` (households the projects can take);
        - with ``matches``: ``matches`` (rows), ``matched_households``,
          ``unmatched_households``, ``share_matched`` (of all households),
          ``amount_matched``, ``unmet_need`` (sum of :func:`unmet_need`);
        - with both: ``budget_used`` (``amount_matched / total_budget``).
    """
    _require(
        households,
        ["household_id", "township", "size", "income_per_capita", "need_amount"],
        "households",
    )
    n = len(households)
    need = households["need_amount"]
    out: dict[str, int | float] = {
        "households": n,
        "people": int(households["size"].sum()),
        "townships": int(households["township"].nunique()),
    }
    if "village" in households.columns:
        out["villages"] = int(households["village"].nunique())
    out["median_income_per_capita"] = _number(households["income_per_capita"].median())
    out["households_with_need"] = int(need.notna().sum())
    out["total_need"] = float(need.sum())
    if projects is not None:
        _require(projects, ["project_id", "funder", "budget", "capacity"], "projects")
        out["projects"] = len(projects)
        out["funders"] = int(projects["funder"].nunique())
        out["total_budget"] = float(projects["budget"].sum())
        out["total_capacity"] = int(projects["capacity"].sum())
    if matches is not None:
        rows = _match_rows(households, matches)
        matched = int(rows["household_id"].nunique())
        out["matches"] = len(rows)
        out["matched_households"] = matched
        out["unmatched_households"] = n - matched
        out["share_matched"] = matched / n if n else float("nan")
        out["amount_matched"] = float(rows["amount"].sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ZfbWarning)
            out["unmet_need"] = float(unmet_need(households, matches).sum())
        if projects is not None:
            budget = out["total_budget"]
            out["budget_used"] = out["amount_matched"] / budget if budget else 0.0
    return out


# matches by township and by project
def matches_by_township(
    households: pd.DataFrame, matches: pd.DataFrame
) -> pd.DataFrame:
    """Matched households and amounts in each township.

    Parameters
    ----------
    households : DataFrame
        Canonical households table (``household_id``, ``township``,
        ``need_amount`` are read).
    matches : DataFrame
        Matches table (``household_id``, ``project_id``, ``amount``).

    Returns
    -------
    DataFrame
        One row per township of ``households`` (townships without a match
        included), sorted by ``households`` descending then by name;
        RangeIndex. Columns: ``township``, ``households`` (int),
        ``matched`` (int, matched households), ``unmatched`` (int),
        ``share_matched`` (float, ``matched / households``), ``amount``
        (float, CNY matched), ``need`` (float, stated need amounts) and
        ``unmet_need`` (float, sum of :func:`unmet_need`).
    """
    _require(households, ["household_id", "township", "need_amount"], "households")
    rows = _match_rows(households, matches)
    paid = rows.groupby("household_id")["amount"].sum()
    got = households["household_id"].map(paid).astype("float64")
    need = households["need_amount"].astype("float64")
    frame = pd.DataFrame(
        {
            "township": households["township"].to_numpy(),
            "matched": got.notna().to_numpy(),
            "amount": got.fillna(0.0).to_numpy(dtype="float64"),
            "need": need.fillna(0.0).to_numpy(),
            "unmet_need": (need - got.fillna(0.0)).clip(lower=0.0).to_numpy(),
        }
    )
    out = frame.groupby("township", dropna=False).agg(
        households=("matched", "size"),
        matched=("matched", "sum"),
        amount=("amount", "sum"),
        need=("need", "sum"),
        unmet_need=("unmet_need", "sum"),
    )
    out = out.reset_index()
    out["households"] = out["households"].astype("int64")
    out["matched"] = out["matched"].astype("int64")
    out["unmatched"] = out["households"] - out["matched"]
    out["share_matched"] = out["matched"] / out["households"]
    out = out.sort_values(["households", "township"], ascending=[False, True])
    columns = ["township", "households", "matched", "unmatched", "share_matched"]
    return out[[*columns, "amount", "need", "unmet_need"]].reset_index(drop=True)


def matches_by_project(
    matches: pd.DataFrame, projects: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Households and money each project received, and its use of capacity.

    Parameters
    ----------
    matches : DataFrame
        Matches table (``household_id``, ``project_id``, ``amount``).
    projects : DataFrame, optional
        Canonical projects table. When given, every project has a row (those
        without a match too) with its capacity and budget.

    Returns
    -------
    DataFrame
        One row per project, sorted by ``households`` descending then by
        ``project_id``; RangeIndex. Columns: ``project_id``, ``households``
        (int, distinct matched households), ``amount`` (float, CNY); with
        ``projects`` also ``funder``, ``title`` (empty when the table has
        none), ``capacity`` (int), ``capacity_used`` (float,
        ``households / capacity``), ``budget`` (float) and ``budget_used``
        (float, ``amount / budget``).
    """
    _require(matches, ["household_id", "project_id", "amount"], "matches")
    used = matches.groupby("project_id").agg(
        households=("household_id", "nunique"), amount=("amount", "sum")
    )
    if projects is None:
        out = used.reset_index()
    else:
        _require(projects, ["project_id", "funder", "budget", "capacity"], "projects")
        unknown = ~_isin(matches["project_id"], projects["project_id"])
        if unknown.any():
            warnings.warn(
                f"{int(unknown.sum())} row(s) of matches name a project_id that is "
                "not in the projects table; those projects are left out. Pass the "
                "projects the matches were made for.",
                ZfbWarning,
                stacklevel=2,
            )
        base = projects[["project_id", "funder", "capacity", "budget"]].copy()
        if "title" in projects.columns:
            base["title"] = projects["title"].fillna("").astype(str).to_numpy()
        else:
            base["title"] = ""
        out = base.merge(used.reset_index(), on="project_id", how="left")
        out["households"] = out["households"].fillna(0)
        out["amount"] = out["amount"].fillna(0.0)
        out["capacity_used"] = out["households"] / out["capacity"]
        out["budget_used"] = out["amount"] / out["budget"]
        out = out[
            [
                "project_id",
                "funder",
                "title",
                "households",
                "amount",
                "capacity",
                "capacity_used",
                "budget",
                "budget_used",
            ]
        ]
    out["households"] = out["households"].astype("int64")
    out["amount"] = out["amount"].astype("float64")
    out = out.sort_values(["households", "project_id"], ascending=[False, True])
    return out.reset_index(drop=True)


def unmatched_by_cause(
    households: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    level: Level = "primary",
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Unmatched households by their main cause, with their stated needs.

    Parameters
    ----------
    households, matches : DataFrame
        Canonical households table and matches table.
    level : {"primary", "secondary", "registry"}, default "primary"
        Level of the main cause, as in :func:`cause_shares`.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.

    Returns
    -------
    DataFrame
        One row per main cause of at least one unmatched household, sorted
        by ``households`` descending then in taxonomy order; RangeIndex.
        Columns ``cause``, ``name_zh``, ``name_en``, ``households`` (int,
        unmatched households whose main cause it is), ``total`` (int, all
        unmatched households), ``share`` (``households / total``, adds up
        to 1) and ``need`` (float, CNY, sum of their stated need amounts,
        missing amounts counted as 0).
    """
    _require(households, ["household_id", "causes", "need_amount"], "households")
    _check_choice(level, "level", _LEVELS)
    tax = taxonomy or load_taxonomy()
    left = households[~is_matched(households, matches)]
    long = _cause_long(left["causes"], tax)
    shares = _shares(long, left[[]].reset_index(drop=True), level, "main", tax)
    first = long[long["pos"] == 0]
    main = _keys(first["code"], level, tax).to_numpy()
    need = left["need_amount"].fillna(0.0).groupby(main).sum()
    shares["need"] = shares["cause"].map(need).fillna(0.0).astype("float64")
    return shares
