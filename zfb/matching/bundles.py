"""Bundles (打包): households that share a cause, offered as one unit.

:func:`make_bundles` groups households that share a cause (their main cause
as recorded, or its primary category) and, by default, a township; each
group, neediest household first (largest poverty gap, then village and id),
is cut into bundles of the size the funder chooses, the last bundle of a
group being smaller when the group does not divide evenly. A bundle never
mixes causes unless ``mix_causes=True``.

:func:`match_bundles` matches each bundle as one unit to at most one project
that accepts the mode ``bundle`` and serves *every* household of it (the
eligibility rules of single mode, household by household). A bundle is worth
the sum of its households' scores, costs the sum of their amounts and takes
as many places of the project's capacity as it has households. The problem,
maximise ``sum S_b y_bp`` over ``y_bp`` in {0, 1} with each bundle at most
once, ``sum_b size_b y_bp <= capacity_p`` and ``sum_b A_bp y_bp <=
budget_p``, is a generalised assignment problem, solved by HiGHS with a
proven bound.

A bundle can also be crowdfunded: its ``units`` table has the columns of a
households table, one row per bundle, and goes to
:func:`zfb.matching.crowdfunding.crowdfund` with ``mode="bundle"``.

References
----------
.. [1] D. G. Cattrysse and L. N. Van Wassenhove, "A survey of algorithms for
   the generalized assignment problem", European Journal of Operational
   Research 60(3), 260-272, 1992.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from ..errors import ConfigError, SolverError
from ..taxonomy import Taxonomy, load_taxonomy
from .modes import mode_eligibility, relative_gap
from .scoring import ScoreWeights, poverty_gap

__all__ = [
    "BUNDLE_COLUMNS",
    "MEMBER_COLUMNS",
    "BundleResult",
    "Bundles",
    "make_bundles",
    "match_bundles",
    "solve_units",
]

logger = logging.getLogger(__name__)

#: Columns of a bundles table.
BUNDLE_COLUMNS = [
    "bundle_id",
    "township",
    "cause",
    "households",
    "people",
    "need",
    "complete",
    "household_ids",
]
#: Columns of a bundle's page: the households, without personal data.
MEMBER_COLUMNS = [
    "bundle_id",
    "household_id",
    "township",
    "village",
    "size",
    "income_per_capita",
    "causes",
    "need_kind",
    "need_amount",
]


@dataclass
class Bundles:
    """Bundles of households.

    Attributes
    ----------
    table : DataFrame
        One row per bundle, in bundle order: :data:`BUNDLE_COLUMNS`.
        ``township`` is ``*`` for a bundle across townships, ``cause`` the
        shared cause code (``;``-joined main causes for a mixed bundle),
        ``households`` and ``people`` count its households and their
        members, ``need`` sums their amounts (``need_amount``, else the
        typical amount of the need kind; unknown ones count 0), ``complete`` says
        whether it has the size asked for, ``household_ids`` joins its
        households' ids with ``;``.
    members : DataFrame
        The bundles' pages: one row per household in a bundle, in bundle
        order: :data:`MEMBER_COLUMNS`, only those columns (never a name, a
        phone number or an ID number).
    units : DataFrame
        One row per bundle with the columns of a households table
        (``household_id`` is the bundle id, ``causes`` the shared cause,
        ``need_amount`` the sum, ``income_per_capita`` the mean per person),
        for crowdfunding bundles.
    bundle_of : ndarray of int, shape (n_households,)
        Bundle position of each household of the input, -1 for none.
    size : int
        The size asked for.
    """

    table: pd.DataFrame
    members: pd.DataFrame
    units: pd.DataFrame
    bundle_of: np.ndarray
    size: int

    def page(self, bundle_id: str) -> pd.DataFrame:
        """The households of one bundle, without personal data."""
        rows = self.members[self.members["bundle_id"] == bundle_id]
        if rows.empty:
            raise KeyError(f"no bundle {bundle_id!r}")
        return rows.reset_index(drop=True)


def _amounts(
    households: pd.DataFrame, main: np.ndarray, taxonomy: Taxonomy
) -> np.ndarray:
    """Amount of each need as single mode counts it: ``need_amount``, else the
    typical amount of the need kind (recorded, or the main cause's first)."""
    amount = households["need_amount"].to_numpy(dtype=float, na_value=np.nan)
    kinds = taxonomy.causes["need_kinds"].reindex(main)
    first = np.array(
        [k[0] if isinstance(k, tuple) and k else None for k in kinds], dtype=object
    )
    if "need_kind" in households:
        recorded = households["need_kind"].astype(object).to_numpy()
        kind = np.where(pd.isna(recorded), first, recorded)
    else:
        kind = first
    typical = taxonomy.need_kinds["typical_amount"].astype(float)
    fill = typical.reindex(pd.Series(kind).fillna("").to_numpy()).to_numpy(dtype=float)
    return np.where(np.isnan(amount), fill, amount)


def _main_cause(households: pd.DataFrame) -> pd.Series:
    return households["causes"].astype(str).str.split(";").str[0].str.strip()


def make_bundles(
    households: pd.DataFrame,
    size: int = 5,
    *,
    by: str = "township",
    cause: str = "main",
    mix_causes: bool = False,
    taxonomy: Taxonomy | None = None,
    weights: ScoreWeights | None = None,
) -> Bundles:
    """Group households into bundles that share a cause and a township.

    Parameters
    ----------
    households : DataFrame
        Canonical households table.
    size : int, default=5
        Households per bundle; the last bundle of each group may be smaller.
    by : {"township", "none"}, default="township"
        Whether a bundle stays within one township.
    cause : {"main", "primary"}, default="main"
        The cause a bundle shares: the main cause as recorded (``ILL.UREMIA``
        or a bare ``ILL``), or its primary category (``ILL``).
    mix_causes : bool, default=False
        Group by township only; a bundle may then mix causes.
    taxonomy : Taxonomy, optional
    weights : ScoreWeights, optional
        Its poverty line orders households within a group.

    Returns
    -------
    Bundles

    Raises
    ------
    ConfigError
        If ``size`` is below 1 or ``by`` or ``cause`` is unknown.
    """
    if not isinstance(size, int | np.integer) or size < 1:
        raise ConfigError(
            f"bundle size must be a whole number, 1 or more; got {size!r}"
        )
    if by not in ("township", "none"):
        raise ConfigError(f"by must be 'township' or 'none'; got {by!r}")
    if cause not in ("main", "primary"):
        raise ConfigError(f"cause must be 'main' or 'primary'; got {cause!r}")
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    households = households.reset_index(drop=True)
    n = len(households)

    # the shared cause and the group key
    main = _main_cause(households)
    main_recorded = main.to_numpy(dtype=object)
    if cause == "primary":
        parent = taxonomy.causes["parent"].reindex(main.to_numpy()).fillna("")
        main = pd.Series(
            np.where(
                parent.to_numpy(dtype=object) == "", main.to_numpy(dtype=object), parent
            ),
            dtype="str",
        )
    town = households["township"].astype(str)
    key_town = town if by == "township" else pd.Series(["*"] * n, dtype="str")
    key_cause = pd.Series(["*"] * n, dtype="str") if mix_causes else main
    gap = poverty_gap(
        households["income_per_capita"].to_numpy(float), weights.poverty_line
    )
    village = (
        households["village"].fillna("").astype(str)
        if "village" in households
        else pd.Series([""] * n)
    )
    frame = pd.DataFrame(
        {
            "row": np.arange(n),
            "t": key_town.to_numpy(dtype=object),
            "c": key_cause.to_numpy(dtype=object),
            "gap": -gap,
            "v": village.to_numpy(dtype=object),
            "id": households["household_id"].astype(str).to_numpy(dtype=object),
        }
    ).sort_values(["t", "c", "gap", "v", "id"], kind="stable")

    # cut each group into bundles
    rank = frame.groupby(["t", "c"], sort=False).cumcount().to_numpy()
    group = frame.groupby(["t", "c"], sort=False).ngroup().to_numpy()
    chunk = rank // size
    new = np.ones(n, dtype=bool)
    if n:
        new[1:] = (group[1:] != group[:-1]) | (chunk[1:] != chunk[:-1])
    bundle = np.cumsum(new) - 1
    rows = frame["row"].to_numpy()
    bundle_of = np.full(n, -1, dtype=np.int64)
    bundle_of[rows] = bundle
    n_b = int(bundle.max()) + 1 if n else 0
    ids = np.array([f"B{b + 1:05d}" for b in range(n_b)], dtype=object)

    # members: the bundles' pages
    cols = [c for c in MEMBER_COLUMNS[1:] if c in households.columns]
    members = households.loc[rows, cols].reset_index(drop=True)
    members.insert(0, "bundle_id", pd.Series(ids[bundle], dtype="str"))
    amount = _amounts(households, main_recorded, taxonomy)
    people = households["size"].to_numpy(dtype=float)

    # bundle table
    count = np.bincount(bundle, minlength=n_b)
    first = np.flatnonzero(new)
    main_sorted = main.to_numpy(dtype=object)[rows]
    if mix_causes:
        shared = (
            pd.Series(main_sorted)
            .groupby(bundle)
            .agg(lambda s: ";".join(s.value_counts().index))
        ).to_numpy(dtype=object)
    else:
        shared = main_sorted[first]
    towns = town.to_numpy(dtype=object)[rows]
    one_town = pd.Series(towns).groupby(bundle).nunique().to_numpy() == 1
    bundle_town = np.where(one_town, towns[first], "*")
    joined = (
        pd.Series(members["household_id"].to_numpy(dtype=object))
        .groupby(bundle)
        .agg(";".join)
    )
    table = pd.DataFrame(
        {
            "bundle_id": pd.Series(ids, dtype="str"),
            "township": pd.Series(bundle_town, dtype="str"),
            "cause": pd.Series(shared, dtype="str"),
            "households": count.astype(np.int64),
            "people": np.bincount(bundle, weights=people[rows], minlength=n_b).astype(
                np.int64
            ),
            "need": np.bincount(
                bundle, weights=np.nan_to_num(amount[rows]), minlength=n_b
            ),
            "complete": count == size,
            "household_ids": pd.Series(joined.to_numpy(dtype=object), dtype="str"),
        }
    )

    # units: bundles as needs, for crowdfunding
    income = households["income_per_capita"].to_numpy(dtype=float)
    per_person = np.bincount(
        bundle, weights=(income * people)[rows], minlength=n_b
    ) / np.maximum(table["people"].to_numpy(float), 1)
    kinds = (
        households["need_kind"].astype(object).to_numpy()[rows]
        if "need_kind" in households
        else np.full(n, None)
    )
    kind_series = (
        pd.Series(kinds)
        .groupby(bundle)
        .agg(lambda s: s.iloc[0] if s.nunique(dropna=False) == 1 else None)
    )
    known = pd.Series(~np.isnan(amount[rows])).groupby(bundle).all().to_numpy()
    units = pd.DataFrame(
        {
            "household_id": table["bundle_id"],
            "township": pd.Series(
                np.where(one_town, towns[first], towns[first]), dtype="str"
            ),
            "village": pd.Series([None] * n_b, dtype="str"),
            "size": table["people"].clip(1, None),
            "income_per_capita": np.round(per_person, 2),
            "causes": table["cause"],
            "need_kind": pd.Series(kind_series.to_numpy(dtype=object), dtype="str"),
            "need_amount": np.where(known, table["need"].to_numpy(float), np.nan),
        }
    )
    logger.debug("%d households in %d bundles of up to %d", n, n_b, size)
    return Bundles(
        table=table, members=members, units=units, bundle_of=bundle_of, size=int(size)
    )


# the generalised assignment
@dataclass
class UnitSolution:
    """Chosen bundle-project edges, with the objective and a proven bound."""

    chosen: np.ndarray
    objective: float
    bound: float
    status: str
    solver: str


def solve_units(
    b: np.ndarray,
    p: np.ndarray,
    score: np.ndarray,
    amount: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    budget: np.ndarray,
    *,
    solver: str = "auto",
    time_limit: float = 60.0,
) -> UnitSolution:
    """Each unit to at most one project, within capacity (by weight) and budget.

    Parameters
    ----------
    b, p : ndarray of int, shape (n_edges,)
        Unit (bundle) and project of each edge.
    score, amount : ndarray of float, shape (n_edges,)
    weight : ndarray of float, shape (n_edges,)
        Capacity each edge takes (the bundle's number of households).
    capacity, budget : ndarray, shape (n_projects,)
    solver : {"auto", "greedy"}, default="auto"
        ``"auto"``: HiGHS on the 0-1 program. ``"greedy"``: edges by
        decreasing score while they fit, a baseline.
    time_limit : float, default=60.0

    Returns
    -------
    UnitSolution
        ``bound`` is HiGHS's dual bound (NaN for greedy).

    Raises
    ------
    SolverError
        If HiGHS fails or finds nothing within the time limit.
    """
    n_e = len(b)
    if solver not in ("auto", "greedy"):
        raise ConfigError(f"solver must be 'auto' or 'greedy'; got {solver!r}")
    if n_e == 0:
        return UnitSolution(np.zeros(0, dtype=bool), 0.0, 0.0, "optimal", "highs_mip")
    capacity = np.asarray(capacity, dtype=float)
    budget = np.asarray(budget, dtype=float)
    if solver == "greedy":
        chosen = _greedy_units(b, p, score, amount, weight, capacity, budget)
        return UnitSolution(
            chosen, float(score[chosen].sum()), float("nan"), "feasible", "greedy"
        )
    bid, bb = np.unique(b, return_inverse=True)
    pid, pp = np.unique(p, return_inverse=True)
    n_b, n_p = len(bid), len(pid)
    cap, money = capacity[pid], budget[pid]
    # a row binds only when the project's edges could exceed it together
    cap_bind = np.bincount(pp, weights=weight, minlength=n_p) > cap
    bud_bind = np.bincount(pp, weights=amount, minlength=n_p) > money
    unit = np.maximum(money / np.maximum(cap, 1), 1.0)
    k_row = np.cumsum(cap_bind) - 1
    m_row = np.cumsum(bud_bind) - 1
    n_k, n_m = int(cap_bind.sum()), int(bud_bind.sum())
    cols = np.arange(n_e)
    on_k, on_m = cap_bind[pp], bud_bind[pp]
    a_mat = sp.csr_array(
        (
            np.concatenate([np.ones(n_e), weight[on_k], amount[on_m] / unit[pp][on_m]]),
            (
                np.concatenate(
                    [bb, n_b + k_row[pp][on_k], n_b + n_k + m_row[pp][on_m]]
                ),
                np.concatenate([cols, cols[on_k], cols[on_m]]),
            ),
        ),
        shape=(n_b + n_k + n_m, n_e),
    )
    upper = np.concatenate([np.ones(n_b), cap[cap_bind], (money / unit)[bud_bind]])
    res = milp(
        -score,
        integrality=np.ones(n_e),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(a_mat, -np.inf, upper),
        options={"time_limit": max(float(time_limit), 0.5), "mip_rel_gap": 1e-8},
    )
    if res.x is None:
        raise SolverError(
            f"HiGHS found no bundle assignment within {time_limit} s ({res.message}); "
            "raise the time limit"
        )
    chosen = res.x > 0.5
    obj = float(score[chosen].sum())
    bound = -res.mip_dual_bound if res.mip_dual_bound is not None else obj
    bound = max(float(bound), obj)
    status = "optimal" if relative_gap(obj, bound) <= 1e-7 else "feasible"
    return UnitSolution(chosen, obj, bound, status, "highs_mip")


def _greedy_units(b, p, score, amount, weight, capacity, budget) -> np.ndarray:
    chosen = np.zeros(len(b), dtype=bool)
    taken = np.zeros(int(b.max()) + 1, dtype=bool)
    room = capacity.copy()
    money = budget.copy()
    for e in np.argsort(-score, kind="stable").tolist():
        i, j = b[e], p[e]
        if not taken[i] and weight[e] <= room[j] and amount[e] <= money[j]:
            taken[i] = True
            room[j] -= weight[e]
            money[j] -= amount[e]
            chosen[e] = True
    return chosen


@dataclass
class BundleResult:
    """The result of :func:`match_bundles`.

    Attributes
    ----------
    bundles : DataFrame
        The bundles table (:data:`BUNDLE_COLUMNS`) with ``project_id`` (NA
        when unmatched), ``amount`` and ``score``.
    matches : DataFrame
        One row per household of a matched bundle, in bundle order:
        ``household_id``, ``project_id``, ``bundle_id``, ``amount``,
        ``score``, ``relevance``, ``priority``, ``explanation``.
    unmatched : DataFrame
        One row per bundle not matched: ``bundle_id``, ``households``,
        ``reason``.
    projects : DataFrame
        One row per project that accepts bundles: ``project_id``,
        ``capacity``, ``bundles``, ``households``, ``budget``, ``spent``,
        ``capacity_left``, ``budget_left``.
    edges : DataFrame
        Every eligible bundle-project pair: ``bundle_id``, ``project_id``,
        ``households``, ``amount``, ``score``, ``matched``.
    total_score, bound, gap : float
    status : {"optimal", "feasible"}
    solver : str
    timings : dict of str to float
    """

    bundles: pd.DataFrame
    matches: pd.DataFrame
    unmatched: pd.DataFrame
    projects: pd.DataFrame
    edges: pd.DataFrame
    total_score: float
    status: str
    bound: float
    gap: float
    solver: str
    timings: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        n = int(self.bundles["project_id"].notna().sum())
        return (
            f"BundleResult({n} of {len(self.bundles)} bundles matched, "
            f"total_score={self.total_score:.4f}, status={self.status!r}, "
            f"gap={self.gap:.2e}, solver={self.solver!r})"
        )

    def summary_lines(self) -> list[str]:
        """What the command line prints."""
        n = int(self.bundles["project_id"].notna().sum())
        return [
            f"{len(self.bundles)} bundles ({int(self.bundles['households'].sum())} "
            f"households); matched {n} bundles, {len(self.matches)} households, "
            f"amount {self.matches['amount'].sum():,.0f} CNY",
            f"total score {self.total_score:.4f} ({self.status}"
            + (f", gap {self.gap:.2%}" if self.gap and self.gap > 0 else "")
            + f", {self.solver})",
        ]


def bundle_edges(elig_edges: pd.DataFrame, bundles: Bundles) -> pd.DataFrame:
    """Bundle-project pairs where the project serves every household of the bundle.

    Parameters
    ----------
    elig_edges : DataFrame
        Household-project edges with ``h`` and ``p`` (positions).
    bundles : Bundles

    Returns
    -------
    DataFrame
        Columns ``b``, ``p`` (positions), ``households``, ``amount``,
        ``score`` (sums over the bundle's households), sorted by ``b``, ``p``.
    """
    b_of = bundles.bundle_of[elig_edges["h"].to_numpy()]
    keep = b_of >= 0
    frame = pd.DataFrame(
        {
            "b": b_of[keep],
            "p": elig_edges["p"].to_numpy()[keep],
            "amount": elig_edges["amount"].to_numpy(float)[keep],
            "score": elig_edges["score"].to_numpy(float)[keep],
        }
    )
    agg = frame.groupby(["b", "p"], sort=True).agg(
        households=("score", "size"), amount=("amount", "sum"), score=("score", "sum")
    )
    agg = agg.reset_index()
    size = bundles.table["households"].to_numpy()
    return agg[agg["households"].to_numpy() == size[agg["b"].to_numpy()]].reset_index(
        drop=True
    )


def match_bundles(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    bundles: Bundles | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    weights: ScoreWeights | None = None,
    solver: str = "auto",
    time_limit: float = 60.0,
) -> BundleResult:
    """Match each bundle, as one unit, to at most one project.

    Parameters
    ----------
    households, projects : DataFrame
        Canonical tables; only projects that accept ``bundle`` take bundles.
    bundles : Bundles, optional
        Default ``make_bundles(households)``.
    taxonomy : Taxonomy, optional
    weights : ScoreWeights, optional
    solver : {"auto", "greedy"}, default="auto"
        See :func:`solve_units`.
    time_limit : float, default=60.0

    Returns
    -------
    BundleResult

    Notes
    -----
    A project serves a bundle only if it serves each of its households (one
    household without an amount, or outside the project's townships, makes
    the whole bundle ineligible there). The per-household cap applies to each
    household. A project's capacity counts households, so a bundle of 5 takes
    5 places.
    """
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    households = households.reset_index(drop=True)
    projects = projects.reset_index(drop=True)
    bundles = (
        make_bundles(households, taxonomy=taxonomy, weights=weights)
        if bundles is None
        else bundles
    )
    if len(bundles.bundle_of) != len(households):
        raise ConfigError("the bundles were made from another households table")
    timings = {}

    clock = time.perf_counter()
    elig = mode_eligibility(households, projects, "bundle", taxonomy, weights)
    be = bundle_edges(elig.edges, bundles)
    timings["eligibility"] = time.perf_counter() - clock

    clock = time.perf_counter()
    b = be["b"].to_numpy()
    p = be["p"].to_numpy()
    sol = solve_units(
        b,
        p,
        be["score"].to_numpy(float),
        be["amount"].to_numpy(float),
        be["households"].to_numpy(float),
        projects["capacity"].to_numpy(float),
        projects["budget"].to_numpy(float),
        solver=solver,
        time_limit=time_limit,
    )
    timings["solve"] = time.perf_counter() - clock

    # tables
    clock = time.perf_counter()
    n_b, n_p = len(bundles.table), len(projects)
    pid = projects["project_id"].astype(str).to_numpy(dtype=object)
    chosen = sol.chosen
    proj_of = np.full(n_b, -1, dtype=np.int64)
    proj_of[b[chosen]] = p[chosen]
    table = bundles.table.assign(
        # position -1 (no project) picks the None at the end: no project needed
        project_id=pd.array(np.append(pid, None)[proj_of], dtype="str"),
        amount=np.bincount(
            b[chosen], weights=be["amount"].to_numpy(float)[chosen], minlength=n_b
        ),
        score=np.bincount(
            b[chosen], weights=be["score"].to_numpy(float)[chosen], minlength=n_b
        ),
    )
    e = elig.edges
    eb = bundles.bundle_of[e["h"].to_numpy()]
    pick = (eb >= 0) & (proj_of[np.maximum(eb, 0)] == e["p"].to_numpy())
    hit = e[pick].assign(bundle=eb[pick])
    cause_label = table["cause"].to_numpy(dtype=object)
    town_label = table["township"].to_numpy(dtype=object)
    count = table["households"].to_numpy()
    from .scoring import explain_frame

    hpos = hit["h"].to_numpy()
    pairs = hit.assign(
        need_implied=elig.need_implied[hpos],
        income_per_capita=households["income_per_capita"].to_numpy(float)[hpos],
    )
    own = explain_frame(pairs, taxonomy, weights).to_numpy(dtype=object)
    where = np.where(town_label == "*", "the county", town_label)
    bundle_text = [
        f"in bundle {bundles.table['bundle_id'].iat[k]} of {count[k]} households "
        f"sharing {_cause_name(cause_label[k], taxonomy)} in {where[k]}; "
        for k in hit["bundle"].to_numpy()
    ]
    matches = pd.DataFrame(
        {
            "household_id": hit["household_id"].to_numpy(dtype=object),
            "project_id": hit["project_id"].to_numpy(dtype=object),
            "bundle_id": bundles.table["bundle_id"].to_numpy(dtype=object)[
                hit["bundle"].to_numpy()
            ],
            "amount": hit["amount"].to_numpy(float),
            "score": hit["score"].to_numpy(float),
            "relevance": hit["relevance"].to_numpy(float),
            "priority": hit["priority"].to_numpy(float),
            "explanation": [a + c for a, c in zip(bundle_text, own, strict=True)],
        }
    )
    order = np.lexsort(
        (
            matches["household_id"].to_numpy(dtype=str),
            matches["bundle_id"].to_numpy(dtype=str),
        )
    )
    matches = matches.iloc[order].reset_index(drop=True)
    for col in ("household_id", "project_id", "bundle_id", "explanation"):
        matches[col] = matches[col].astype("str")

    n_eligible = np.bincount(b, minlength=n_b)
    reason = np.where(
        n_eligible == 0,
        "no project that accepts bundles serves every household of it",
        [f"its {k} eligible project(s) were full or out of budget" for k in n_eligible],
    )
    unmatched = pd.DataFrame(
        {
            "bundle_id": bundles.table["bundle_id"],
            "households": bundles.table["households"],
            "reason": pd.Series(reason, dtype="str"),
        }
    )[proj_of < 0].reset_index(drop=True)

    from .modes import accepts_mode

    modes = projects["modes"] if "modes" in projects else pd.Series([None] * n_p)
    accepts = accepts_mode(modes, "bundle")
    weight = be["households"].to_numpy(float)
    spent = np.bincount(
        p[chosen], weights=be["amount"].to_numpy(float)[chosen], minlength=n_p
    )
    taken = np.bincount(p[chosen], weights=weight[chosen], minlength=n_p).astype(
        np.int64
    )
    capacity = projects["capacity"].to_numpy(dtype=np.int64)
    budget = projects["budget"].to_numpy(float)
    proj = pd.DataFrame(
        {
            "project_id": projects["project_id"].astype("str"),
            "capacity": capacity,
            "bundles": np.bincount(p[chosen], minlength=n_p).astype(np.int64),
            "households": taken,
            "budget": budget,
            "spent": spent,
            "capacity_left": capacity - taken,
            "budget_left": budget - spent,
        }
    )[accepts].reset_index(drop=True)
    edges = pd.DataFrame(
        {
            "bundle_id": bundles.table["bundle_id"].to_numpy(dtype=object)[b],
            "project_id": pid[p],
            "households": be["households"].to_numpy(np.int64),
            "amount": be["amount"].to_numpy(float),
            "score": be["score"].to_numpy(float),
            "matched": chosen,
        }
    )
    for col in ("bundle_id", "project_id"):
        edges[col] = edges[col].astype("str")
    timings["tables"] = time.perf_counter() - clock
    gap = relative_gap(sol.objective, sol.bound)
    return BundleResult(
        bundles=table,
        matches=matches,
        unmatched=unmatched,
        projects=proj,
        edges=edges,
        total_score=sol.objective,
        status=sol.status,
        bound=sol.bound,
        gap=gap,
        solver=sol.solver,
        timings=timings,
    )


def _cause_name(code: str, taxonomy: Taxonomy) -> str:
    parts = [c for c in str(code).split(";") if c]
    names = []
    for c in parts[:3]:
        try:
            names.append(f"{taxonomy.name(c, 'zh')} {taxonomy.name(c, 'en')}")
        except KeyError:
            names.append(c)
    if len(parts) > 3:
        names.append(f"and {len(parts) - 3} more causes")
    return ", ".join(names)
