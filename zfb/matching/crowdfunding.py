"""Crowdfunding: needs split among projects and individual pledges.

A need (the amount a household asks for) may be filled by several donors'
pledges (认捐), by matching funds, and by the money of several projects that
accept the mode ``crowdfunding``. A run at date ``as_of`` goes in three steps:

1. **Pledges**, in the order they were made, fill their needs; each may be
   matched by a matching fund (:mod:`zfb.matching.funds`). A pledge beyond
   what is left of its need is returned in part.
2. **Deadline.** A need whose deadline is before ``as_of`` and that pledges
   have not filled is *released* (``expired``), as Kiva does: it receives no
   project money, and its pledges are refunded to the donors and its matched
   money to the funds (``on_expiry="refund"``, all or nothing) or kept for
   the household (``on_expiry="keep"``, keep what you raise).
3. **Allocation.** The projects' money goes to the open needs so that the
   total score is maximal: a transportation problem, solved exactly.

The allocation problem. Edges ``e = (h, p)`` are the eligible pairs of
single mode for the projects that accept crowdfunding, with score ``s_e``.
Choose amounts ``x_e >= 0`` (CNY) to maximise ``sum s_e x_e / n_h``, where
``n_h`` is the household's whole need, subject to

- ``sum_p x_hp <= r_h``, what pledges left of the need;
- ``x_e <= c_p``, the project's ``per_household_cap``;
- ``sum_h x_hp <= b_p``, the project's budget;
- ``sum_h x_hp / n_h <= k_p``, the project's capacity counted in whole
  needs: funding half of two needs takes one household of capacity.

Fully funding a need is worth its single-mode score, and half of it half the
score. When no capacity row can bind, this is a transportation problem on
amounts, solved as a min-cost flow (OR-Tools); otherwise a linear program
(HiGHS dual simplex).

Rounding to whole yuan: needs, pledges left, budgets and caps are rounded
down to whole yuan first. A transportation problem with integer supplies,
demands and arc bounds has an integral optimal vertex (its matrix is totally
unimodular), so the min-cost flow is exact in whole yuan. The capacity rows
break that property: the program's optimum may then be fractional on a few
edges; those are rounded down and the yuan left are given by decreasing
score per yuan while they fit. The program's optimum is the bound, and the
gap states what the rounding lost.

References
----------
.. [1] R. K. Ahuja, T. L. Magnanti and J. B. Orlin, *Network Flows: Theory,
   Algorithms, and Applications*, Prentice Hall, 1993 (the transportation
   problem, chapter 9; integrality, theorem 9.10).
.. [2] Kiva, "What happens if a loan doesn't fully fund?" (expiring loans and
   refunds to lenders).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from ..errors import ConfigError, Problem, SolverError, ValidationError
from ..taxonomy import Taxonomy, load_taxonomy
from .funds import (
    MatchingFund,
    apply_pledges,
    check_fund_ids,
    fund_eligibility,
    fund_permissions,
    funds_frame,
)
from .modes import accepts_mode, mode_eligibility, relative_gap
from .scoring import ScoreWeights, explain_frame

__all__ = [
    "ALLOCATION_COLUMNS",
    "CrowdfundingResult",
    "PLEDGE_COLUMNS",
    "PROGRESS_COLUMNS",
    "TransportSolution",
    "crowdfund",
    "read_pledges",
    "solve_transport",
    "validate_pledges",
]

logger = logging.getLogger(__name__)

#: Columns of a pledges table as read.
PLEDGE_COLUMNS = ["pledge_id", "donor", "household_id", "amount", "pledged_on"]
#: Columns of the allocations (``matches``) table.
ALLOCATION_COLUMNS = [
    "household_id",
    "project_id",
    "amount",
    "share",
    "score",
    "relevance",
    "priority",
    "explanation",
]
#: Columns of the progress table.
PROGRESS_COLUMNS = [
    "household_id",
    "township",
    "need",
    "pledged",
    "matched",
    "allocated",
    "funded",
    "remaining",
    "share_funded",
    "pledges",
    "donors",
    "deadline",
    "state",
    "released",
]
#: States of a need in the progress table.
NEED_STATES = ("open", "funded", "expired", "no_amount")
#: Whole-yuan tolerance under which a need counts as fully funded.
FUNDED_TOL = 0.5
#: Largest integer cost of the min-cost flow.
FLOW_COST_RANGE = 10**8


# pledges
def validate_pledges(
    pledges: pd.DataFrame | None, household_ids: pd.Series, *, file: str = "<pledges>"
) -> pd.DataFrame:
    """Check a pledges table and return it in canonical form.

    Parameters
    ----------
    pledges : DataFrame or None
        Columns ``pledge_id`` (unique), ``donor`` (an account or pseudonym,
        never a person's name), ``household_id`` (the need: a household or a
        bundle id), ``amount`` (CNY, more than 0) and optionally
        ``pledged_on`` (date). None means no pledges.
    household_ids : Series of str
        The ids pledges may target.
    file : str
        Name used in problems.

    Returns
    -------
    DataFrame
        Columns :data:`PLEDGE_COLUMNS`, RangeIndex; ``pledged_on`` holds
        ``datetime.date`` or None.

    Raises
    ------
    ValidationError
        Listing every problem: a missing column, a duplicate id, an amount
        not above 0, an unknown household or a date that cannot be read.
    """
    if pledges is None:
        return pd.DataFrame(
            {
                "pledge_id": pd.Series([], dtype="str"),
                "donor": pd.Series([], dtype="str"),
                "household_id": pd.Series([], dtype="str"),
                "amount": pd.Series([], dtype=float),
                "pledged_on": pd.Series([], dtype=object),
            }
        )
    pledges = pledges.reset_index(drop=True)
    required = ["pledge_id", "donor", "household_id", "amount"]
    missing = [c for c in required if c not in pledges.columns]
    if missing:
        raise ValidationError(
            Problem(file, None, c, "", "required column is missing") for c in missing
        )
    problems = []
    ids = pledges["pledge_id"].astype(str).str.strip()
    for r in np.flatnonzero(ids.duplicated(keep="first").to_numpy()):
        problems.append(
            Problem(file, int(r) + 2, "pledge_id", ids[r], "pledge id used twice")
        )
    amount = pd.to_numeric(pledges["amount"], errors="coerce").to_numpy(dtype=float)
    for r in np.flatnonzero(~(amount > 0)):
        problems.append(
            Problem(
                file,
                int(r) + 2,
                "amount",
                str(pledges["amount"][r]),
                "must be a number of CNY more than 0",
            )
        )
    target = pledges["household_id"].astype(str).str.strip()
    known = set(household_ids.astype(str))
    for r in np.flatnonzero(~target.isin(known).to_numpy()):
        problems.append(
            Problem(
                file,
                int(r) + 2,
                "household_id",
                target[r],
                "no such household (or bundle) in the needs table",
            )
        )
    if "pledged_on" in pledges:
        raw = pledges["pledged_on"]
        parsed = pd.to_datetime(raw, errors="coerce")
        bad = (
            parsed.isna().to_numpy()
            & raw.notna().to_numpy()
            & (raw.astype(str).str.strip() != "").to_numpy()
        )
        for r in np.flatnonzero(bad):
            problems.append(
                Problem(
                    file,
                    int(r) + 2,
                    "pledged_on",
                    str(raw[r]),
                    "expected a date YYYY-MM-DD",
                )
            )
        dates = [None if pd.isna(d) else d.date() for d in parsed]
    else:
        dates = [None] * len(pledges)
    if problems:
        raise ValidationError(problems)
    return pd.DataFrame(
        {
            "pledge_id": ids.astype("str"),
            "donor": pledges["donor"].astype(str).str.strip().astype("str"),
            "household_id": target.astype("str"),
            "amount": amount,
            "pledged_on": pd.Series(dates, dtype=object),
        }
    )


def read_pledges(path: str | Path) -> pd.DataFrame:
    """Read a pledges file (CSV or XLSX) with the columns :data:`PLEDGE_COLUMNS`.

    The table is checked against the needs by :func:`crowdfund`; this only
    reads it (see :func:`validate_pledges`).
    """
    from ..io import read_table

    table = read_table(path)
    table.attrs["file"] = Path(path).name
    return table


# the transportation problem
@dataclass
class TransportSolution:
    """An allocation of amounts to edges.

    Attributes
    ----------
    x : ndarray of float, shape (n_edges,)
        CNY on each edge, whole yuan.
    objective : float
        ``sum value * x``.
    bound : float
        Proven upper bound on the objective (NaN for the greedy baseline).
    status : {"optimal", "feasible"}
    solver : {"min_cost_flow", "highs_lp", "greedy"}
    shortfall : ndarray of float
        CNY missing to each floor target (see ``floors``), after rounding.
    """

    x: np.ndarray
    objective: float
    bound: float
    status: str
    solver: str
    shortfall: np.ndarray = field(default_factory=lambda: np.zeros(0))


def capacity_can_bind(
    p: np.ndarray, upper: np.ndarray, coef: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Whether each project's capacity row can bind.

    It cannot when the project's edges, each filled to its upper bound, use
    no more than its capacity: ``sum_e upper_e * coef_e <= capacity_p``.

    Returns
    -------
    ndarray of bool, shape (n_projects,)
    """
    most = np.bincount(p, weights=upper * coef, minlength=len(capacity))
    return most > np.asarray(capacity, dtype=float) + 1e-9


def _whole(values: np.ndarray) -> np.ndarray:
    return np.floor(np.nan_to_num(np.asarray(values, dtype=float), nan=0.0) + 1e-6)


def solve_transport(
    h: np.ndarray,
    p: np.ndarray,
    value: np.ndarray,
    upper: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    coef: np.ndarray,
    capacity: np.ndarray,
    *,
    floors: list[tuple[np.ndarray, np.ndarray]] | None = None,
    solver: str = "auto",
    time_limit: float = 60.0,
) -> TransportSolution:
    """Maximum-value allocation of supplies to demands along edges.

    Maximise ``sum value_e x_e`` over ``0 <= x_e <= upper_e`` subject to
    ``sum_{e of h} x_e <= demand_h``, ``sum_{e of p} x_e <= supply_p`` and
    ``sum_{e of p} coef_e x_e <= capacity_p``.

    Parameters
    ----------
    h, p : ndarray of int, shape (n_edges,)
        Demand (need) and supply (project) position of each edge.
    value : ndarray of float, shape (n_edges,)
        Value per CNY, 0 or more.
    upper : ndarray of float, shape (n_edges,)
    demand : ndarray of float, shape (n_needs,)
    supply, capacity : ndarray of float, shape (n_projects,)
    coef : ndarray of float, shape (n_edges,)
        Capacity used per CNY (``1 / need``).
    floors : list of (ndarray of int, ndarray of float), optional
        Each pair: the group of each need (shape (n_needs,), -1 for none) and
        the target CNY of each group. Targets are met first, as far as they
        can be (the total relative shortfall is minimised), then the value is
        maximised; both by linear programs.
    solver : {"auto", "flow", "lp", "greedy"}, default="auto"
        ``"auto"``: min-cost flow when no capacity row can bind and there
        are no floors, else the linear program. ``"greedy"``: edges by
        decreasing value, each filled as far as it fits; a baseline.
    time_limit : float, default=60.0
        Seconds for each linear program.

    Returns
    -------
    TransportSolution

    Raises
    ------
    ConfigError
        If ``solver`` is unknown, or ``"flow"`` while a capacity row can
        bind or floors are given.
    SolverError
        If a solver fails or runs out of time.
    """
    if solver not in ("auto", "flow", "lp", "greedy"):
        raise ConfigError(f"solver must be auto, flow, lp or greedy; got {solver!r}")
    n_e = len(h)
    upper = _whole(upper)
    demand = _whole(demand)
    supply = _whole(supply)
    capacity = np.asarray(capacity, dtype=float)
    value = np.asarray(value, dtype=float)
    coef = np.asarray(coef, dtype=float)
    floors = [f for f in (floors or []) if len(f[1])]
    if n_e == 0:
        short = [t.astype(float) for _, t in floors]
        return TransportSolution(
            np.zeros(0), 0.0, 0.0, "optimal", "min_cost_flow", _concat(short)
        )
    bind = capacity_can_bind(p, np.minimum(upper, demand[h]), coef, capacity)
    if solver == "greedy":
        x = _greedy(h, p, value, upper, demand, supply, coef, capacity, np.zeros(n_e))
        return TransportSolution(
            x,
            float(value @ x),
            float("nan"),
            "feasible",
            "greedy",
            _shortfall(x, h, floors),
        )
    if solver == "flow" and (bind.any() or floors):
        raise ConfigError(
            "solver='flow' needs capacities that cannot bind and no floors; "
            f"{int(bind.sum())} capacity row(s) can bind; use solver='auto'"
        )
    if solver in ("auto", "flow") and not bind.any() and not floors:
        x = _flow(h, p, value, upper, demand, supply)
        obj = float(value @ x)
        return TransportSolution(x, obj, obj, "optimal", "min_cost_flow")
    x_lp, bound = _lp(
        h, p, value, upper, demand, supply, coef, capacity, bind, floors, time_limit
    )
    near = np.abs(x_lp - np.rint(x_lp)) < 1e-5
    x = np.where(near, np.rint(x_lp), np.floor(x_lp))
    x = _repair(h, p, value, demand, supply, coef, capacity, x)
    x = _greedy(h, p, value, upper, demand, supply, coef, capacity, x)
    obj = float(value @ x)
    bound = max(bound, obj)
    gap = relative_gap(obj, bound)
    return TransportSolution(
        x,
        obj,
        bound,
        "optimal" if gap <= 1e-7 else "feasible",
        "highs_lp",
        _shortfall(x, h, floors),
    )


def _concat(parts) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _shortfall(x, h, floors) -> np.ndarray:
    out = []
    for group, target in floors:
        g = group[h]
        ok = g >= 0
        got = np.bincount(g[ok], weights=x[ok], minlength=len(target))
        out.append(np.maximum(target - got, 0.0))
    return _concat(out)


def _repair(h, p, value, demand, supply, coef, capacity, x) -> np.ndarray:
    """Take whole yuan off the least valuable edges of any row that rounding
    to the nearest yuan pushed over its bound."""
    x = x.copy()
    for _ in range(len(x) + 1):
        over_h = np.bincount(h, weights=x, minlength=len(demand)) - demand
        over_p = np.bincount(p, weights=x, minlength=len(supply)) - supply
        over_k = np.bincount(p, weights=x * coef, minlength=len(supply)) - capacity
        bad = (over_h[h] > 1e-9) | (over_p[p] > 1e-9) | (over_k[p] > 1e-9)
        bad &= x >= 1
        if not bad.any():
            return x
        worst = np.flatnonzero(bad)[np.argmin(value[bad])]
        x[worst] -= 1.0
    return x


def _greedy(h, p, value, upper, demand, supply, coef, capacity, x) -> np.ndarray:
    """Give whole yuan by decreasing value, starting from ``x``, while they fit."""
    x = x.copy()
    room_h = demand - np.bincount(h, weights=x, minlength=len(demand))
    room_p = supply - np.bincount(p, weights=x, minlength=len(supply))
    room_k = capacity - np.bincount(p, weights=x * coef, minlength=len(supply))
    order = np.argsort(-value, kind="stable")
    order = order[value[order] > 0]
    hl, pl = h[order].tolist(), p[order].tolist()
    ul, cl, xl = upper[order].tolist(), coef[order].tolist(), x[order].tolist()
    for k, (i, j, u, c, x0) in enumerate(zip(hl, pl, ul, cl, xl, strict=True)):
        by_cap = np.floor(room_k[j] / c + 1e-9) if c > 0 else np.inf
        add = min(u - x0, room_h[i], room_p[j], by_cap)
        if add >= 1:
            add = float(np.floor(add))
            x[order[k]] += add
            room_h[i] -= add
            room_p[j] -= add
            room_k[j] -= add * c
    return x


def _flow(h, p, value, upper, demand, supply) -> np.ndarray:
    """Min-cost flow on whole yuan: source -> project -> need -> sink."""
    from ortools.graph.python import min_cost_flow

    n_e = len(h)
    hid, hh = np.unique(h, return_inverse=True)
    pid, pp = np.unique(p, return_inverse=True)
    n_h, n_p = len(hid), len(pid)
    source, sink = 0, 1 + n_p + n_h
    scale = FLOW_COST_RANGE / max(float(value.max()), 1e-300)
    cost = -np.rint(value * scale).astype(np.int64)
    total = int(supply[pid].sum())
    tails = np.concatenate([np.zeros(n_p), 1 + pp, 1 + n_p + np.arange(n_h), [source]])
    heads = np.concatenate(
        [1 + np.arange(n_p), 1 + n_p + hh, np.full(n_h, sink), [sink]]
    )
    caps = np.concatenate([supply[pid], upper, demand[hid], [total]])
    costs = np.concatenate([np.zeros(n_p), cost, np.zeros(n_h), [0]])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int64),
        heads.astype(np.int64),
        caps.astype(np.int64),
        costs.astype(np.int64),
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[source], supplies[sink] = total, -total
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise SolverError(f"min-cost flow ended with status {status!r}")
    return flow.flows(arcs[n_p : n_p + n_e]).astype(float)


def _lp(h, p, value, upper, demand, supply, coef, capacity, bind, floors, time_limit):
    """Solve the program (two stages with floors); return (x, optimum)."""
    n_e = len(h)
    hid, hh = np.unique(h, return_inverse=True)
    pid, pp = np.unique(p, return_inverse=True)
    n_h, n_p = len(hid), len(pid)
    bind_p = bind[pid]
    k_row = np.full(n_p, -1, dtype=np.int64)
    k_row[bind_p] = np.arange(int(bind_p.sum()))
    n_k = int(bind_p.sum())
    cols = np.arange(n_e)
    with_k = k_row[pp] >= 0
    rows = [hh, n_h + pp, n_h + n_p + k_row[pp][with_k]]
    vals = [np.ones(n_e), np.ones(n_e), coef[with_k]]
    cidx = [cols, cols, cols[with_k]]
    rhs = [demand[hid], supply[pid], capacity[pid][bind_p]]
    n_rows = n_h + n_p + n_k

    # floor rows: -sum x - z_g <= -target_g
    n_z = 0
    z_scale = []
    for group, target in floors:
        g = group[h]
        ok = g >= 0
        rows.append(n_rows + g[ok])
        vals.append(-np.ones(int(ok.sum())))
        cidx.append(cols[ok])
        z = n_e + n_z + np.arange(len(target))
        rows.append(n_rows + np.arange(len(target)))
        vals.append(-np.ones(len(target)))
        cidx.append(z)
        rhs.append(-target)
        z_scale.append(1.0 / np.maximum(target, 1.0))
        n_rows += len(target)
        n_z += len(target)
    n_var = n_e + n_z
    a_mat = sp.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cidx))),
        shape=(n_rows, n_var),
    )
    b = np.concatenate(rhs).astype(float)
    hi = np.concatenate([upper, *(t for _, t in floors)])
    bounds = np.column_stack([np.zeros(n_var), hi])
    options = {"time_limit": float(time_limit)}
    clock = time.perf_counter()

    def solve(c, a, b_ub):
        res = linprog(
            c, A_ub=a, b_ub=b_ub, bounds=bounds, method="highs-ds", options=options
        )
        if res.status != 0:
            raise SolverError(f"HiGHS LP failed: {res.message}")
        return res

    if n_z:
        weights = np.concatenate(z_scale)
        c1 = np.concatenate([np.zeros(n_e), weights])
        first = solve(c1, a_mat, b)
        limit = first.fun + 1e-9 * max(1.0, n_z)
        extra = sp.csr_array(
            (weights, (np.zeros(n_z, dtype=np.int64), n_e + np.arange(n_z))),
            shape=(1, n_var),
        )
        a_mat = sp.vstack([a_mat, extra]).tocsr()
        b = np.append(b, limit)
        logger.debug("floors: least relative shortfall %.6f", first.fun)
    c2 = np.concatenate([-value, np.zeros(n_z)])
    res = solve(c2, a_mat, b)
    logger.debug(
        "transportation program: %d edges, %.2f s", n_e, time.perf_counter() - clock
    )
    x = np.clip(res.x[:n_e], 0.0, upper)
    return x, float(-res.fun)


# the public function
@dataclass
class CrowdfundingResult:
    """The result of :func:`crowdfund`.

    Attributes
    ----------
    matches : DataFrame
        The projects' allocations, one row per household and project with an
        amount, in household then project order: columns
        :data:`ALLOCATION_COLUMNS`; ``share`` is the part of the whole need,
        ``score`` the pair's score times ``share``.
    progress : DataFrame
        One row per need (household or bundle), in input order: columns
        :data:`PROGRESS_COLUMNS`. ``pledged`` is donors' money, ``matched``
        funds' money and ``allocated`` projects' money, all kept by the need;
        ``funded`` their sum and ``remaining`` what is missing; ``pledges``
        and ``donors`` count them; ``state`` is one of :data:`NEED_STATES`;
        ``released`` is the money returned when the need expired.
    pledges : DataFrame
        One row per pledge, in input order: :data:`PLEDGE_COLUMNS` then
        ``applied`` (kept by the need), ``returned`` (to the donor; ``applied
        + returned == amount``), ``matched`` (added by a fund, kept),
        ``fund_id`` (NA if none) and ``status`` (``pledged``: the need is
        still open; ``paid``: the need was funded or kept on expiry;
        ``cancelled``: refunded in full).
    projects : DataFrame
        One row per project that accepts crowdfunding: ``project_id``,
        ``capacity``, ``households`` (needs it funds), ``household_equivalents``
        (sum of shares), ``budget``, ``spent``, ``capacity_left`` (in whole
        needs), ``budget_left``.
    unmatched : DataFrame
        One row per need left with money missing: ``household_id``,
        ``remaining``, ``reason``.
    funds : DataFrame
        One row per matching fund: ``fund_id``, ``funder``, ``ratio``,
        ``cap``, ``matched`` (kept by needs), ``released`` (returned on
        expiry), ``cap_left``.
    fairness : FairnessReport or None
        Shares by township or cause before and after the floors.
    total_score, bound, gap : float
    status : {"optimal", "feasible"}
    solver : str
    timings : dict of str to float
    """

    matches: pd.DataFrame
    progress: pd.DataFrame
    pledges: pd.DataFrame
    projects: pd.DataFrame
    unmatched: pd.DataFrame
    funds: pd.DataFrame
    total_score: float
    status: str
    bound: float
    gap: float
    solver: str
    fairness: object = None
    timings: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        states = self.progress["state"].value_counts().to_dict()
        return (
            f"CrowdfundingResult({len(self.matches)} allocations, needs {states}, "
            f"total_score={self.total_score:.4f}, status={self.status!r}, "
            f"gap={self.gap:.2e}, solver={self.solver!r})"
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Output file name to table."""
        out = {
            "matches.csv": self.matches,
            "unmatched.csv": self.unmatched,
            "projects.csv": self.projects,
            "progress.csv": self.progress,
            "pledges.csv": self.pledges,
        }
        if len(self.funds):
            out["funds.csv"] = self.funds
        if self.fairness is not None:
            out["fairness.csv"] = self.fairness.table
        return out

    def summary_lines(self) -> list[str]:
        """What the command line prints."""
        pr = self.progress
        states = pr["state"].value_counts()
        lines = [
            f"{len(pr)} needs: {states.get('funded', 0)} funded, "
            f"{states.get('open', 0)} open, {states.get('expired', 0)} expired"
            + (
                f", {states['no_amount']} without an amount"
                if "no_amount" in states
                else ""
            ),
            f"money kept by needs: pledged {pr['pledged'].sum():,.0f} CNY, matched "
            f"{pr['matched'].sum():,.0f} CNY, projects "
            f"{pr['allocated'].sum():,.0f} CNY ({len(self.matches)} allocations); "
            "released on expiry "
            f"{pr['released'].sum():,.0f} CNY",
            f"total score {self.total_score:.4f} ({self.status}"
            + (f", gap {self.gap:.2%}" if self.gap and self.gap > 0 else "")
            + f", {self.solver})",
        ]
        if self.fairness is not None:
            lines.append(self.fairness.summary())
        return lines


def _as_date(value, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None


def _deadlines(households: pd.DataFrame, deadline) -> np.ndarray:
    if deadline is not None:
        return np.array(
            [_as_date(deadline, "deadline")] * len(households), dtype=object
        )
    if "deadline" not in households:
        return np.array([None] * len(households), dtype=object)
    raw = households["deadline"]
    parsed = pd.to_datetime(raw, errors="coerce")
    bad = parsed.isna().to_numpy() & raw.notna().to_numpy()
    if bad.any():
        raise ValidationError(
            Problem(
                "<households>",
                int(r) + 2,
                "deadline",
                str(raw[r]),
                "expected a date YYYY-MM-DD",
            )
            for r in np.flatnonzero(bad)
        )
    return np.array([None if pd.isna(d) else d.date() for d in parsed], dtype=object)


def crowdfund(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    pledges: pd.DataFrame | None = None,
    taxonomy: Taxonomy | None = None,
    *,
    funds: list[MatchingFund] | None = None,
    deadline: dt.date | str | None = None,
    as_of: dt.date | str | None = None,
    on_expiry: str = "refund",
    floors=None,
    mode: str = "crowdfunding",
    weights: ScoreWeights | None = None,
    solver: str = "auto",
    time_limit: float = 60.0,
) -> CrowdfundingResult:
    """Fill needs with pledges, matching funds and the projects' money.

    Parameters
    ----------
    households : DataFrame
        Canonical households table (each row one need), or the ``units``
        table of :func:`zfb.matching.bundles.make_bundles` to crowdfund
        bundles. An optional ``deadline`` column (dates) gives each need its
        own deadline.
    projects : DataFrame
        Canonical projects table; only projects that accept ``mode`` give
        money. ``per_household_cap`` caps a project's amount per need,
        ``capacity`` counts whole needs (see the module's description).
    pledges : DataFrame, optional
        Pledges already made, see :func:`validate_pledges`.
    taxonomy : Taxonomy, optional
    funds : list of MatchingFund, optional
        Matching funds, tried in this order.
    deadline : date or str, optional
        One deadline for every need; overrides the ``deadline`` column.
    as_of : date or str, optional
        Date of the run (default today).
    on_expiry : {"refund", "keep"}, default="refund"
        What happens to the pledges and matched money of a released need.
    floors : Floors, optional
        Fairness floors per township or cause on the projects' money, see
        :mod:`zfb.matching.fairness`.
    mode : str, default="crowdfunding"
        The mode projects must accept (``"bundle"`` for bundles).
    weights : ScoreWeights, optional
    solver : {"auto", "flow", "lp", "greedy"}, default="auto"
        See :func:`solve_transport`.
    time_limit : float, default=60.0

    Returns
    -------
    CrowdfundingResult

    Raises
    ------
    ValidationError
        If a table is wrong (unknown codes, pledges to unknown needs ...).
    ConfigError
        If an option is wrong.

    Notes
    -----
    The amount of a need is its ``need_amount``, else the typical amount of
    its need kind; a need with neither is ``no_amount`` and its pledges are
    returned. Matched money is never more than what a pledge leaves of the
    need. The projects' money is allocated once, at ``as_of``; money they
    gave in earlier runs enters as pledges (donor the project) with the
    budget reduced by it. Floors apply to the projects' money only.

    Examples
    --------
    >>> result = crowdfund(households, projects, pledges)  # doctest: +SKIP
    >>> result.progress.head()  # doctest: +SKIP
    """
    if on_expiry not in ("refund", "keep"):
        raise ConfigError(f"on_expiry must be 'refund' or 'keep'; got {on_expiry!r}")
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    funds = list(funds or [])
    check_fund_ids(funds)
    as_of = _as_date(as_of, "as_of") or dt.date.today()
    households = households.reset_index(drop=True)
    projects = projects.reset_index(drop=True)
    timings: dict[str, float] = {}
    file = (pledges.attrs.get("file") if pledges is not None else None) or "<pledges>"
    pledges = validate_pledges(pledges, households["household_id"], file=file)

    # eligibility
    clock = time.perf_counter()
    elig = mode_eligibility(households, projects, mode, taxonomy, weights)
    edges = elig.edges
    need = np.where(
        np.isnan(elig.base_amount), np.nan, np.floor(elig.base_amount + 1e-6)
    )
    timings["eligibility"] = time.perf_counter() - clock

    # pledges and matching funds
    clock = time.perf_counter()
    n_h = len(households)
    pos = pd.Index(households["household_id"].astype(str))
    target = pos.get_indexer(pledges["household_id"])
    dates = pledges["pledged_on"].to_numpy(dtype=object)
    date_key = np.array([d.toordinal() if d is not None else 10**9 for d in dates])
    order = np.lexsort(
        (pledges["pledge_id"].to_numpy(dtype=object).astype(str), date_key)
    )
    amount = pledges["amount"].to_numpy(dtype=float)
    if funds:
        ok = fund_permissions(
            funds,
            fund_eligibility(households, funds, taxonomy),
            target,
            pledges["donor"].to_numpy(dtype=object),
            dates,
        )
        ledger = apply_pledges(
            need,
            target,
            amount,
            order,
            fund_ok=ok,
            ratio=np.array([f.ratio for f in funds]),
            cap=np.array([f.cap for f in funds]),
            per_pledge_cap=np.array(
                [
                    np.inf if f.per_pledge_cap is None else f.per_pledge_cap
                    for f in funds
                ]
            ),
        )
    else:
        ledger = apply_pledges(need, target, amount, order)
    pledged = np.bincount(target, weights=ledger.applied, minlength=n_h)
    matched = np.bincount(target, weights=ledger.matched, minlength=n_h)

    # deadline
    due = _deadlines(households, deadline)
    past = np.array([d is not None and d < as_of for d in due], dtype=bool)
    known = ~np.isnan(need)
    full = known & (pledged + matched >= np.nan_to_num(need) - FUNDED_TOL)
    expired = past & known & ~full
    released = np.zeros(n_h)
    if on_expiry == "refund":
        released[expired] = pledged[expired] + matched[expired]
        gone = expired[target]
        returned_pledge = np.where(gone, amount, amount - ledger.applied)
        kept_pledge = np.where(gone, 0.0, ledger.applied)
        kept_match = np.where(gone, 0.0, ledger.matched)
        pledged[expired] = 0.0
        matched[expired] = 0.0
    else:
        returned_pledge = amount - ledger.applied
        kept_pledge = ledger.applied
        kept_match = ledger.matched
    timings["pledges"] = time.perf_counter() - clock

    # allocation
    clock = time.perf_counter()
    h = edges["h"].to_numpy()
    p = edges["p"].to_numpy()
    open_need = known & ~expired
    demand = np.where(open_need, np.nan_to_num(need) - pledged - matched, 0.0)
    demand = np.maximum(demand, 0.0)
    nh = np.nan_to_num(need)[h]
    value = np.where(nh > 0, edges["score"].to_numpy() / np.maximum(nh, 1e-12), 0.0)
    upper = np.minimum(edges["amount"].to_numpy(dtype=float), demand[h])
    coef = 1.0 / np.maximum(nh, 1.0)
    capacity = projects["capacity"].to_numpy(dtype=float)
    budget = projects["budget"].to_numpy(dtype=float)
    floor_spec = None
    if floors is not None:
        from .fairness import floor_groups

        floor_spec = floor_groups(households, floors, demand, h, upper, taxonomy)
    sol = solve_transport(
        h,
        p,
        value,
        upper,
        demand,
        budget,
        coef,
        capacity,
        floors=None if floor_spec is None else floor_spec.arrays,
        solver=solver,
        time_limit=time_limit,
    )
    timings["solve"] = time.perf_counter() - clock

    # tables
    clock = time.perf_counter()
    x = sol.x
    allocated = np.bincount(h, weights=x, minlength=n_h)
    hit = edges[x > 0]
    xs = x[x > 0]
    share = xs / np.nan_to_num(need)[hit["h"].to_numpy()]
    hpos = hit["h"].to_numpy()
    pairs = hit.assign(
        need_implied=elig.need_implied[hpos],
        income_per_capita=households["income_per_capita"].to_numpy(float)[hpos],
    )
    explanation = explain_frame(pairs, taxonomy, weights)
    explanation = [
        f"{text}; gives {a:,.0f} CNY, {100 * r:.0f}% of the need"
        for text, a, r in zip(explanation, xs, share, strict=True)
    ]
    matches = pd.DataFrame(
        {
            "household_id": hit["household_id"].to_numpy(),
            "project_id": hit["project_id"].to_numpy(),
            "amount": xs,
            "share": share,
            "score": hit["score"].to_numpy() * share,
            "relevance": hit["relevance"].to_numpy(),
            "priority": hit["priority"].to_numpy(),
            "explanation": np.array(explanation, dtype=object),
        }
    )
    for col in ("household_id", "project_id", "explanation"):
        matches[col] = matches[col].astype("str")

    funded = pledged + matched + allocated
    state = np.where(
        ~known,
        "no_amount",
        np.where(
            expired,
            "expired",
            np.where(funded >= np.nan_to_num(need) - FUNDED_TOL, "funded", "open"),
        ),
    )
    n_pledges = np.bincount(target, minlength=n_h)
    donors = (
        pledges.assign(t=target)
        .groupby("t")["donor"]
        .nunique()
        .reindex(range(n_h), fill_value=0)
    )
    progress = pd.DataFrame(
        {
            "household_id": households["household_id"].astype("str"),
            "township": households["township"].astype("str"),
            "need": need,
            "pledged": pledged,
            "matched": matched,
            "allocated": allocated,
            "funded": funded,
            "remaining": np.where(
                known, np.maximum(np.nan_to_num(need) - funded, 0.0), np.nan
            ),
            "share_funded": np.where(
                known & (np.nan_to_num(need) > 0),
                funded / np.where(known & (need > 0), need, 1.0),
                np.nan,
            ),
            "pledges": n_pledges.astype(np.int64),
            "donors": donors.to_numpy(dtype=np.int64),
            "deadline": pd.Series(due, dtype=object),
            "state": pd.Series(state, dtype="str"),
            "released": released,
        }
    )

    # pledges table
    fund_ids = np.array([f.fund_id for f in funds] + [None], dtype=object)
    state_of = state[target] if len(target) else np.array([], dtype=object)
    status = np.where(
        kept_pledge <= 0,
        "cancelled",
        np.where(state_of == "open", "pledged", "paid"),
    )
    pledge_table = pledges.assign(
        applied=kept_pledge,
        returned=returned_pledge,
        matched=kept_match,
        fund_id=pd.array(
            fund_ids[np.where(kept_match > 0, ledger.fund, -1)], dtype="str"
        ),
        status=pd.Series(status, dtype="str"),
    )

    # projects and funds
    accepts = accepts_mode(
        projects["modes"] if "modes" in projects else pd.Series([None] * len(projects)),
        mode,
    )
    spent = np.bincount(p, weights=x, minlength=len(projects))
    equiv = np.bincount(p, weights=x * coef, minlength=len(projects))
    count = np.bincount(p[x > 0], minlength=len(projects))
    proj = pd.DataFrame(
        {
            "project_id": projects["project_id"].astype("str"),
            "capacity": projects["capacity"].to_numpy(dtype=np.int64),
            "households": count.astype(np.int64),
            "household_equivalents": equiv,
            "budget": budget,
            "spent": spent,
            "capacity_left": capacity - equiv,
            "budget_left": budget - spent,
        }
    )[accepts].reset_index(drop=True)
    fund_table = funds_frame(funds)[["fund_id", "funder", "ratio", "cap"]]
    if funds:
        by_fund_kept = np.bincount(
            np.where(kept_match > 0, ledger.fund, len(funds)),
            weights=kept_match,
            minlength=len(funds) + 1,
        )[:-1]
        fund_table = fund_table.assign(
            matched=by_fund_kept,
            released=ledger.fund_spent - by_fund_kept,
            cap_left=fund_table["cap"].to_numpy(float) - by_fund_kept,
        )
    else:
        fund_table = fund_table.assign(matched=[], released=[], cap_left=[])

    # unmatched
    unmatched = _unmatched(progress, h, elig)
    timings["tables"] = time.perf_counter() - clock

    report = None
    if floors is not None:
        from .fairness import fairness_report_from_arrays

        base = solve_transport(
            h,
            p,
            value,
            upper,
            demand,
            budget,
            coef,
            capacity,
            solver=solver,
            time_limit=time_limit,
        )
        report = fairness_report_from_arrays(floor_spec, base.x, x, h)
    gap = relative_gap(sol.objective, sol.bound)
    logger.info(
        "crowdfunding: %d allocations, %s, gap %.2e", len(matches), sol.status, gap
    )
    return CrowdfundingResult(
        matches=matches,
        progress=progress,
        pledges=pledge_table,
        projects=proj,
        unmatched=unmatched,
        funds=fund_table,
        total_score=sol.objective,
        status=sol.status,
        bound=sol.bound,
        gap=gap,
        solver=sol.solver,
        fairness=report,
        timings=timings,
    )


def _unmatched(progress: pd.DataFrame, h: np.ndarray, elig) -> pd.DataFrame:
    """Needs left with money missing, and why."""
    n_h = len(progress)
    n_edges = np.bincount(h, minlength=n_h)
    state = progress["state"].to_numpy(dtype=object)
    left = (state == "open") | (state == "expired") | (state == "no_amount")
    reason = np.empty(n_h, dtype=object)
    reason[state == "expired"] = (
        "released: the deadline passed before it was fully funded"
    )
    reason[state == "no_amount"] = (
        "amount unknown: need_amount is missing and its need kind has no typical amount"
    )
    openish = state == "open"
    reason[openish & (n_edges == 0)] = [
        f"no project accepting crowdfunding serves its causes or need kind in {t}"
        for t in elig.township[openish & (n_edges == 0)]
    ]
    reason[openish & (n_edges > 0)] = [
        f"its {n} eligible project(s) ran out of budget or capacity"
        for n in n_edges[openish & (n_edges > 0)]
    ]
    out = pd.DataFrame(
        {
            "household_id": progress["household_id"],
            "remaining": progress["remaining"],
            "reason": pd.Series(reason, dtype="str"),
        }
    )
    return out[left].reset_index(drop=True)
