"""Single-mode matching: each household to at most one project."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..errors import ConfigError, ZfbWarning
from ..taxonomy import Taxonomy, load_taxonomy
from .eligibility import EDGE_COLUMNS, Eligibility, build_eligibility
from .scoring import ScoreWeights, explain_frame
from .solvers import (
    COLGEN_MIN_EDGES,
    GAP_TOL,
    MIP_GAP,
    Solution,
    budget_can_bind,
    components,
    solve_flow,
    solve_greedy,
    solve_mip,
)

__all__ = ["MatchResult", "MatchGapWarning", "match_single", "SOLVERS"]

logger = logging.getLogger(__name__)

#: Values accepted by ``match_single(solver=...)``.
SOLVERS = ("auto", "flow", "mip", "greedy")

MATCH_COLUMNS = [
    "household_id",
    "project_id",
    "amount",
    "score",
    "relevance",
    "priority",
    "explanation",
]
PROJECT_COLUMNS = [
    "project_id",
    "capacity",
    "households",
    "budget",
    "spent",
    "capacity_left",
    "budget_left",
]


class MatchGapWarning(ZfbWarning):
    """The assignment is feasible but not proven optimal (the gap is not 0).

    When the time limit stopped the solver (``time_limit_reached``), a larger
    ``time_limit`` may close the gap; otherwise the gap is mostly the
    weakness of the linear relaxation's bound (see ``docs/matching.md``).
    Silence it with
    ``warnings.simplefilter("ignore", zfb.matching.MatchGapWarning)``.
    """


@dataclass
class MatchResult:
    """The result of :func:`match_single`.

    Attributes
    ----------
    matches : DataFrame
        One row per matched household, in household order: ``household_id``,
        ``project_id``, ``amount`` (CNY the project pays), ``score``,
        ``relevance``, ``priority``, ``explanation`` (one plain line).
    unmatched : DataFrame
        One row per household with no match, in household order:
        ``household_id``, ``reason``.
    projects : DataFrame
        One row per project, in project order: ``project_id``, ``capacity``,
        ``households`` (matched), ``budget``, ``spent``, ``capacity_left``,
        ``budget_left``.
    edges : DataFrame
        Every eligible pair, as :func:`zfb.matching.eligible_edges` returns
        it, plus a bool column ``matched``.
    total_score : float
        Sum of the matches' scores.
    status : {"optimal", "feasible"}
        ``"optimal"`` when proven optimal within the relative gap
        ``mip_gap`` of :func:`match_single` (exactly when no budget binds);
        ``"feasible"`` otherwise, and always for ``solver="greedy"``.
    bound : float
        Proven upper bound on the total score (NaN for ``solver="greedy"``).
    gap : float
        ``(bound - total_score) / bound`` (NaN for greedy).
    solver : str
        What solved it: ``"min_cost_flow"``, ``"highs_mip"``, both joined by
        ``+``, or ``"greedy"``.
    time_limit_reached : bool
        Whether the time limit cut the integer programs short. When it is
        False the assignment depends on the input alone: the same tables
        give the same matches on any machine, however busy.
    timings : dict of str to float
        Seconds per step: ``eligibility``, ``decompose``, ``flow``, ``mip``,
        ``greedy``, ``tables``.
    """

    matches: pd.DataFrame
    unmatched: pd.DataFrame
    projects: pd.DataFrame
    edges: pd.DataFrame
    total_score: float
    status: str
    bound: float
    gap: float
    solver: str
    time_limit_reached: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"MatchResult({len(self.matches)} matched, {len(self.unmatched)} "
            f"unmatched, total_score={self.total_score:.4f}, status={self.status!r}, "
            f"gap={self.gap:.2e}, solver={self.solver!r})"
        )


def match_single(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    taxonomy: Taxonomy | None = None,
    *,
    weights: ScoreWeights | None = None,
    solver: str = "auto",
    time_limit: float = 60.0,
    progress: bool = False,
    exclude: Iterable[tuple[str, str]] | None = None,
    mip_gap: float = MIP_GAP,
) -> MatchResult:
    """Match each household to at most one project, maximising the total score.

    Each project takes at most ``capacity`` households, and the amounts of
    its households sum to at most its ``budget``. The eligible pairs and
    their scores are those of :func:`zfb.matching.eligible_edges`.

    Parameters
    ----------
    households, projects : DataFrame
        Canonical tables (``docs/data-model.md``), validated.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.
    weights : ScoreWeights, optional
        Default ``ScoreWeights()``.
    solver : {"auto", "flow", "mip", "greedy"}, default="auto"
        ``"auto"``: the eligibility graph is split into connected
        components; a component where no budget can bind is solved as a
        min-cost flow (OR-Tools), the others as an integer program (HiGHS)
        that keeps only the budget rows that can bind. ``"flow"``: min-cost
        flow everywhere, allowed only when no budget can bind. ``"mip"``:
        the integer program everywhere. ``"greedy"``: highest score first, a
        baseline for benchmarks that is not optimal.
    time_limit : float, default=60.0
        Seconds allowed to the integer programs in all (the min-cost flow
        and the eligibility join are not limited), a safety cap: their steps
        end by themselves (see :func:`zfb.matching.solvers.solve_mip`), in
        about 3 s on a county of 46,000 households. When it runs out first,
        the best assignment found is returned with ``status="feasible"``,
        its proven bound and gap, and ``time_limit_reached=True``.
    progress : bool, default=False
        Show a progress bar over the steps and components.
    exclude : iterable of (household_id, project_id), optional
        Pairs never to propose, such as the declined ones of
        :meth:`zfb.matching.states.MatchBook.declined_pairs`; they are left
        out of the eligible pairs (and of ``edges``).
    mip_gap : float, default=1e-4
        Where budgets bind, the integer programs stop when the relative gap
        between the assignment and the proven bound is at most this; 0
        proves the optimum exactly, which can take much longer (seconds to
        minutes on a county's sample of 2,000 households where 1e-4 takes
        one or two). Min-cost flows are always exact.

    Returns
    -------
    MatchResult

    Raises
    ------
    ConfigError
        If ``solver`` is unknown, or is ``"flow"`` while a budget can bind.
    ValidationError
        If a required column is missing or a code is not in the taxonomy.
    SolverError
        If a solver fails.

    Warns
    -----
    MatchGapWarning
        When the assignment is not proven optimal (gap above ``mip_gap``);
        never for ``solver="greedy"``, which has no bound.

    Notes
    -----
    A household with no match gets a reason: ``"no eligible project (no
    project serves its causes or need kind in 泼机镇)"``, or ``"eligible
    projects were full or out of budget (3 eligible)"``. The min-cost flow
    rounds scores to 1e-6 (see :func:`zfb.matching.solvers.solve_flow`).
    Scores do not yet lower the priority of households already helped by
    another mode.

    Examples
    --------
    >>> result = match_single(households, projects)  # doctest: +SKIP
    >>> result.matches.head()  # doctest: +SKIP
    """
    if solver not in SOLVERS:
        raise ConfigError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if not 0 <= mip_gap < 1:
        raise ConfigError(f"mip_gap must be at least 0 and below 1, got {mip_gap!r}")
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    households = households.reset_index(drop=True)
    projects = projects.reset_index(drop=True)
    timings: dict[str, float] = {}
    bar = tqdm(total=4, desc="matching", unit="step", disable=not progress)

    # eligibility
    clock = time.perf_counter()
    elig = build_eligibility(households, projects, taxonomy, weights)
    exclude = list(exclude or ())
    if exclude:
        elig = _without(elig, exclude)
    edges = elig.edges
    timings["eligibility"] = time.perf_counter() - clock
    bar.update()

    # solve
    h = edges["h"].to_numpy()
    p = edges["p"].to_numpy()
    score = edges["score"].to_numpy()
    amount = edges["amount"].to_numpy()
    capacity = projects["capacity"].to_numpy(dtype=np.int64)
    budget = projects["budget"].to_numpy(dtype=float)
    solution, used = _solve(
        h,
        p,
        score,
        amount,
        capacity,
        budget,
        len(households),
        solver,
        time_limit,
        timings,
        bar,
        progress,
        mip_gap,
    )

    # tables
    clock = time.perf_counter()
    result = _tables(households, projects, elig, solution, taxonomy, weights)
    timings["tables"] = time.perf_counter() - clock
    bar.update()
    bar.close()
    gap = _relative_gap(solution)
    if solution.status != "optimal" and used != "greedy":
        why = (
            "the time limit stopped the solver; a larger time_limit may narrow it"
            if solution.stopped
            else "the bound comes from the linear relaxation; the true gap may be "
            "smaller"
        )
        warnings.warn(
            f"the assignment is feasible but not proven optimal: relative gap "
            f"{gap:.2e} (bound {solution.bound:.4f}, score {solution.objective:.4f}); "
            + why,
            MatchGapWarning,
            stacklevel=2,
        )
    logger.info(
        "matched %d of %d households (%s, %s, gap %.2e)",
        len(result[0]),
        len(households),
        used,
        solution.status,
        gap,
    )
    return MatchResult(
        *result,
        edges=edges[EDGE_COLUMNS].assign(matched=solution.chosen),
        total_score=solution.objective,
        status=solution.status,
        bound=solution.bound,
        gap=gap,
        solver=used,
        time_limit_reached=solution.stopped,
        timings=timings,
    )


def _without(elig: Eligibility, pairs: Iterable[tuple[str, str]]) -> Eligibility:
    """``elig`` without the eligible pairs ``pairs``."""
    pairs = pd.MultiIndex.from_tuples([(str(h), str(p)) for h, p in pairs])
    edges = elig.edges
    found = pd.MultiIndex.from_arrays([edges["household_id"], edges["project_id"]])
    drop = found.isin(pairs)
    logger.info("%d excluded pairs left out of the eligible ones", int(drop.sum()))
    return replace(elig, edges=edges[~drop].reset_index(drop=True))


def _relative_gap(solution: Solution) -> float:
    if not np.isfinite(solution.bound):
        return float("nan")
    gap = solution.bound - solution.objective
    return max(gap, 0.0) / max(abs(solution.bound), 1e-12)


def _solve(
    h,
    p,
    score,
    amount,
    capacity,
    budget,
    n_h,
    solver,
    time_limit,
    timings,
    bar,
    progress,
    mip_gap,
) -> tuple[Solution, str]:
    """Dispatch to the solvers; return the solution and the solver's name."""
    n_e, n_p = len(h), len(capacity)
    if solver == "greedy":
        clock = time.perf_counter()
        sol = solve_greedy(h, p, score, amount, capacity, budget)
        timings["greedy"] = time.perf_counter() - clock
        bar.update(2)
        return sol, "greedy"

    clock = time.perf_counter()
    bind = budget_can_bind(p, amount, capacity, budget)
    if solver == "flow" and bind.any():
        raise ConfigError(
            f"solver='flow' needs budgets that cannot bind, but {int(bind.sum())} "
            "project budget(s) can bind; use solver='auto' or 'mip'"
        )
    if solver == "mip":
        label = np.zeros(n_e, dtype=np.int64)
        mip_edges = np.ones(n_e, dtype=bool)
    else:
        label = components(h, p, n_h, n_p)
        n_comp = int(label.max()) + 1 if n_e else 0
        comp_binds = np.zeros(n_comp, dtype=bool)
        comp_binds[label[bind[p]]] = True
        mip_edges = comp_binds[label] if n_e else np.zeros(0, dtype=bool)
    timings["decompose"] = time.perf_counter() - clock
    bar.update()

    chosen = np.zeros(n_e, dtype=bool)
    objective, bound, names = 0.0, 0.0, []
    status, stopped = "optimal", False
    flow_edges = ~mip_edges
    clock = time.perf_counter()
    if flow_edges.any():
        sol = solve_flow(h[flow_edges], p[flow_edges], score[flow_edges], capacity)
        chosen[flow_edges] = sol.chosen
        objective += sol.objective
        bound += sol.bound
        names.append("min_cost_flow")
    timings["flow"] = time.perf_counter() - clock

    clock = time.perf_counter()
    groups = _mip_groups(label, mip_edges)
    if groups:
        names.append("highs_mip")
    remaining = sum(len(g) for g in groups)
    with tqdm(
        total=remaining,
        desc="integer programs",
        unit="edge",
        disable=not progress or len(groups) < 2,
        leave=False,
    ) as sub:
        for idx in groups:
            left = time_limit - (time.perf_counter() - clock)
            share = max(left * len(idx) / remaining, 1.0)
            remaining -= len(idx)
            sol = solve_mip(
                h[idx], p[idx], score[idx], amount[idx], capacity, budget, bind,
                time_limit=share, mip_gap=mip_gap,
            )  # fmt: skip
            chosen[idx] = sol.chosen
            objective += sol.objective
            bound += sol.bound
            if sol.status != "optimal":
                status = "feasible"
            stopped |= sol.stopped
            sub.update(len(idx))
    timings["mip"] = time.perf_counter() - clock
    bar.update()
    tol = max(mip_gap, GAP_TOL)
    if status == "optimal" and bound - objective > tol * max(abs(bound), 1e-12):
        status = "feasible"
    used = "+".join(names) or ("highs_mip" if solver == "mip" else "min_cost_flow")
    solution = Solution(chosen, objective, max(bound, objective), status, stopped)
    return solution, used


def _mip_groups(label: np.ndarray, mip_edges: np.ndarray) -> list[np.ndarray]:
    """Edges of the integer programs to solve, largest first: each component
    of at least ``COLGEN_MIN_EDGES`` edges alone, the smaller ones together
    (independent programs solved as one)."""
    idx = np.flatnonzero(mip_edges)
    if len(idx) == 0:
        return []
    comp, size = np.unique(label[idx], return_counts=True)
    large = comp[size >= COLGEN_MIN_EDGES]
    groups = [
        idx[label[idx] == c] for c in large[np.argsort(-size[size >= COLGEN_MIN_EDGES])]
    ]
    small = idx[~np.isin(label[idx], large)]
    if len(small):
        groups.append(small)
    return groups


def _tables(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    elig: Eligibility,
    solution: Solution,
    taxonomy: Taxonomy,
    weights: ScoreWeights,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Build the matches, unmatched and projects tables."""
    edges = elig.edges
    n_h, n_p = len(households), len(projects)
    hit = edges[solution.chosen]

    # matches
    hpos = hit["h"].to_numpy()
    pairs = hit.assign(
        need_implied=elig.need_implied[hpos],
        income_per_capita=households["income_per_capita"].to_numpy(float)[hpos],
    )
    matches = hit[MATCH_COLUMNS[:-1]].assign(
        explanation=explain_frame(pairs, taxonomy, weights)
    )
    matches = matches.reset_index(drop=True)

    # projects
    capacity = projects["capacity"].to_numpy(dtype=np.int64)
    budget = projects["budget"].to_numpy(dtype=float)
    taken = np.bincount(hit["p"].to_numpy(), minlength=n_p)
    spent = np.bincount(hit["p"].to_numpy(), weights=hit["amount"], minlength=n_p)
    proj = pd.DataFrame(
        {
            "project_id": projects["project_id"].astype("str"),
            "capacity": capacity,
            "households": taken.astype(np.int64),
            "budget": budget,
            "spent": spent,
            "capacity_left": capacity - taken,
            "budget_left": budget - spent,
        }
    )

    # unmatched and why
    matched = np.zeros(n_h, dtype=bool)
    matched[hpos] = True
    reasons = _reasons(edges, elig, matched, proj)
    unmatched = pd.DataFrame(
        {
            "household_id": households["household_id"].astype("str")[~matched],
            "reason": reasons[~matched],
        }
    ).reset_index(drop=True)
    return matches, unmatched, proj


def _reasons(
    edges: pd.DataFrame, elig: Eligibility, matched: np.ndarray, proj: pd.DataFrame
) -> pd.Series:
    """Plain-words reason for each household (meaningful for unmatched ones)."""
    n_h = len(matched)
    h = edges["h"].to_numpy()
    p = edges["p"].to_numpy()
    n_eligible = np.bincount(h, minlength=n_h)
    full = proj["capacity_left"].to_numpy()[p] <= 0
    broke = ~full & (edges["amount"].to_numpy() > proj["budget_left"].to_numpy()[p])
    n_room = np.bincount(h[~full & ~broke], minlength=n_h)
    text = np.empty(n_h, dtype=object)
    none = n_eligible == 0
    unknown = none & np.isnan(elig.base_amount)
    text[none] = [
        f"no eligible project (no project serves its causes or need kind in {t})"
        for t in elig.township[none]
    ]
    text[unknown] = [
        "amount unknown: need_amount is missing and its need kind has no typical amount"
    ] * int(unknown.sum())
    some = ~none
    text[some] = [
        f"eligible projects were full or out of budget ({n} eligible)"
        if r == 0
        else f"not chosen although {r} of its {n} eligible projects had room "
        "left (its score is 0 there, or the solver stopped early)"
        for n, r in zip(n_eligible[some], n_room[some], strict=True)
    ]
    return pd.Series(text, dtype="str")
