"""Fairness: floors per township or cause, and shares before and after.

An optimal assignment may leave a township with nothing while another has
every need funded, because the scores there are a little higher. A *floor*
says that each township (or each primary cause, the category of the
household's main cause) receives at least a given amount of CNY, or all of
its eligible need when that is less (its *target*). zfb meets the targets
first, as far as budgets allow, then maximises the score:

- crowdfunding: exactly, by two linear programs (least total relative
  shortfall, then the best score with no more shortfall), see
  :func:`zfb.matching.crowdfunding.solve_transport`;
- single mode: by an integer program whose objective is the score minus
  ``M`` times the relative shortfall, ``M`` the largest possible score plus
  one, so that the floors come first (:func:`match_single_fair`).

The report (:class:`FairnessReport`) gives, per group, the need, the target
and the money before and after the floors, and the Gini coefficient of the
funded share across groups.

References
----------
.. [1] C. Gini, *Variabilità e mutabilità*, Bologna, 1912; the mean absolute
   difference form ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)``.
.. [2] D. Bertsimas, V. F. Farias and N. Trichakis, "The price of fairness",
   Operations Research 59(1), 17-31, 2011.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from ..errors import ConfigError, ZfbWarning
from ..taxonomy import Taxonomy, load_taxonomy
from .scoring import ScoreWeights

__all__ = [
    "FairnessReport",
    "FloorWarning",
    "Floors",
    "fairness_table",
    "gini",
    "match_single_fair",
]

logger = logging.getLogger(__name__)

_FAMILIES = ("township", "cause")


class FloorWarning(ZfbWarning):
    """A floor could not be met: budgets or eligibility leave a group short.

    The fairness table lists the shortfall of each group. Lower the floor,
    or add projects that serve the groups left short.
    """


@dataclass(frozen=True)
class Floors:
    """Least CNY each township, and each primary cause, should receive.

    Parameters
    ----------
    township : float, optional
        CNY per township (of the household).
    cause : float, optional
        CNY per primary category of the household's main cause.

    Raises
    ------
    ConfigError
        If a floor is negative or not a number, or both are None.
    """

    township: float | None = None
    cause: float | None = None

    def __post_init__(self) -> None:
        for name in _FAMILIES:
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, int | float) and math.isfinite(value) and value >= 0
            ):
                raise ConfigError(
                    f"Floors.{name} must be CNY, 0 or more; got {value!r}"
                )
        if self.township is None and self.cause is None:
            raise ConfigError("Floors needs a township floor, a cause floor or both")


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 equal, near 1 concentrated).

    Returns NaN for an empty array and 0 when every value is 0.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return float("nan")
    total = x.sum()
    if total <= 0:
        return 0.0
    # sum_i sum_j |x_i - x_j| = 2 sum_i (2 i - n - 1) x_(i), i = 1..n
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * x).sum() / (n * total))


def household_groups(
    households: pd.DataFrame, by: str, taxonomy: Taxonomy
) -> tuple[np.ndarray, np.ndarray]:
    """Group of each household: its township, or its main cause's primary.

    Returns
    -------
    codes : ndarray of int, shape (n_households,)
    labels : ndarray of str, shape (n_groups,)
    """
    if by == "township":
        codes, labels = pd.factorize(households["township"].astype(str), sort=True)
    elif by == "cause":
        main = households["causes"].astype(str).str.split(";").str[0].str.strip()
        parent = taxonomy.causes["parent"].reindex(main.to_numpy()).fillna("")
        prim = np.where(
            parent.to_numpy(dtype=object) == "", main.to_numpy(dtype=object), parent
        )
        codes, labels = pd.factorize(pd.Series(prim, dtype="str"), sort=True)
    else:
        raise ConfigError(f"by must be 'township' or 'cause'; got {by!r}")
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


@dataclass
class FloorSpec:
    """The floor groups of one problem.

    Attributes
    ----------
    families : list of str
        ``"township"`` and/or ``"cause"``.
    groups : list of ndarray of int
        Group of each household, per family.
    labels : list of ndarray of str
    need : list of ndarray of float
        Need left of each group (sum of the households' demand).
    achievable : list of ndarray of float
        What the eligible edges could give each group at most.
    targets : list of ndarray of float
        ``min(floor, achievable)``.
    floor : list of float
    """

    families: list[str]
    groups: list[np.ndarray]
    labels: list[np.ndarray]
    need: list[np.ndarray]
    achievable: list[np.ndarray]
    targets: list[np.ndarray]
    floor: list[float]

    @property
    def arrays(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(group of each household, target of each group), per family."""
        return list(zip(self.groups, self.targets, strict=True))


def floor_groups(
    households: pd.DataFrame,
    floors: Floors,
    demand: np.ndarray,
    h: np.ndarray,
    upper: np.ndarray,
    taxonomy: Taxonomy,
) -> FloorSpec:
    """Targets of each floor group from the demand and the edges' bounds.

    Parameters
    ----------
    households : DataFrame
    floors : Floors
    demand : ndarray of float, shape (n_households,)
        What each household may still receive.
    h : ndarray of int, shape (n_edges,)
    upper : ndarray of float, shape (n_edges,)
        Most each edge may carry.
    taxonomy : Taxonomy

    Returns
    -------
    FloorSpec
    """
    reach = np.minimum(np.bincount(h, weights=upper, minlength=len(demand)), demand)
    spec = FloorSpec([], [], [], [], [], [], [])
    for family in _FAMILIES:
        floor = getattr(floors, family)
        if floor is None:
            continue
        codes, labels = household_groups(households, family, taxonomy)
        n_g = len(labels)
        need = np.bincount(codes, weights=demand, minlength=n_g)
        achievable = np.bincount(codes, weights=reach, minlength=n_g)
        spec.families.append(family)
        spec.groups.append(codes)
        spec.labels.append(labels)
        spec.need.append(need)
        spec.achievable.append(achievable)
        spec.targets.append(np.floor(np.minimum(float(floor), achievable) + 1e-6))
        spec.floor.append(float(floor))
    return spec


@dataclass
class FairnessReport:
    """Money per group before and after the floors.

    Attributes
    ----------
    table : DataFrame
        One row per family and group: ``by`` (``township`` or ``cause``),
        ``group``, ``need`` (CNY still needed before this run), ``target``
        (``min(floor, what its eligible projects could give)``, NaN without
        a floor), ``before``, ``after`` (CNY received without and with the
        floors), ``share_before``, ``share_after`` (received / need),
        ``shortfall`` (``target - after``, at least 0).
    gini : dict of str to (float, float)
        Gini of the funded share across groups, before and after, per family.
    """

    table: pd.DataFrame
    gini: dict[str, tuple[float, float]]

    def summary(self) -> str:
        """One line per family: groups short of their target, and the Gini."""
        parts = []
        for by, (g0, g1) in self.gini.items():
            rows = self.table[self.table["by"] == by]
            n = len(rows)
            if rows["target"].notna().any():
                short0 = int((rows["before"] < rows["target"] - 0.5).sum())
                short1 = int((rows["shortfall"] > 0.5).sum())
                parts.append(
                    f"{by} floor: {short0} of {n} groups below target before, "
                    f"{short1} after; Gini of funded share {g0:.3f} -> {g1:.3f}"
                )
            elif np.isnan(g1):
                parts.append(f"no {by} had a need a project could fund")
            else:
                with_need = int((rows["need"] > 0).sum())
                parts.append(
                    f"Gini of funded share across {_count(with_need, by)} with "
                    f"a need a project could fund {g1:.3f}"
                )
        return "; ".join(parts)


def _count(n: int, noun: str) -> str:
    """``1 township``, ``2 townships``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _table(spec_like, before_by, after_by) -> FairnessReport:
    frames, ginis = [], {}
    for k, family in enumerate(spec_like.families):
        need = spec_like.need[k]
        before, after = before_by[k], after_by[k]
        target = (
            spec_like.targets[k] if spec_like.targets else np.full(len(need), np.nan)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            s0 = np.where(need > 0, before / need, np.nan)
            s1 = np.where(need > 0, after / need, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "by": family,
                    "group": pd.Series(spec_like.labels[k], dtype="str"),
                    "need": need,
                    "target": target,
                    "before": before,
                    "after": after,
                    "share_before": s0,
                    "share_after": s1,
                    "shortfall": np.maximum(np.nan_to_num(target) - after, 0.0),
                }
            )
        )
        keep = need > 0
        ginis[family] = (gini(s0[keep]), gini(s1[keep]))
    table = pd.concat(frames, ignore_index=True)
    table["by"] = table["by"].astype("str")
    return FairnessReport(table, ginis)


def fairness_report_from_arrays(
    spec: FloorSpec, x_before: np.ndarray, x_after: np.ndarray, h: np.ndarray
) -> FairnessReport:
    """Report of amounts on edges (``x``) grouped as in ``spec``."""
    before, after = [], []
    for codes, labels in zip(spec.groups, spec.labels, strict=True):
        g = codes[h]
        before.append(np.bincount(g, weights=x_before, minlength=len(labels)))
        after.append(np.bincount(g, weights=x_after, minlength=len(labels)))
    report = _table(spec, before, after)
    _warn_short(report)
    return report


def _warn_short(report: FairnessReport) -> None:
    short = report.table[report.table["shortfall"] > 0.5]
    if len(short):
        warnings.warn(
            f"{len(short)} group(s) could not reach their floor target (most short: "
            f"{short.sort_values('shortfall').iloc[-1]['group']}, "
            f"{short['shortfall'].max():,.0f} CNY); see the fairness table",
            FloorWarning,
            stacklevel=3,
        )


def fairness_table(
    households: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    by: str = "township",
    before: pd.DataFrame | None = None,
    taxonomy: Taxonomy | None = None,
) -> FairnessReport:
    """Shares of the need funded per township or cause, and their Gini.

    Parameters
    ----------
    households : DataFrame
        Canonical households; the need of a household is its
        ``need_amount`` (0 when missing).
    matches : DataFrame
        ``household_id`` and ``amount`` of the money received (single,
        crowdfunding or bundle members); the ``after`` column.
    by : {"township", "cause"}, default="township"
    before : DataFrame, optional
        Another matches table, the ``before`` column (default: no money).
    taxonomy : Taxonomy, optional

    Returns
    -------
    FairnessReport
        ``target`` is NaN (no floor).
    """
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    households = households.reset_index(drop=True)
    codes, labels = household_groups(households, by, taxonomy)
    if "need_amount" in households:
        asked = households["need_amount"].to_numpy(dtype=float, na_value=np.nan)
        asked = np.nan_to_num(asked, nan=0.0).clip(0)
    else:
        asked = np.zeros(len(households))
    need = np.bincount(codes, weights=asked, minlength=len(labels))
    pos = pd.Index(households["household_id"].astype(str))

    def per_group(m):
        if m is None or len(m) == 0:
            return np.zeros(len(labels))
        i = pos.get_indexer(m["household_id"].astype(str))
        ok = i >= 0
        return np.bincount(
            codes[i[ok]], weights=m["amount"].to_numpy(float)[ok], minlength=len(labels)
        )

    spec = FloorSpec([by], [codes], [labels], [need], [need], [], [])
    return _table(spec, [per_group(before)], [per_group(matches)])


def _candidates(h, p, score, amount, capacity, keep, groups, targets) -> np.ndarray:
    """Edges kept in the integer program: the unconstrained optimum's, each
    project's best, and each floor group's best by score per CNY."""
    from .solvers import _top_per_group  # the single-mode helper

    cand = keep.copy()
    cand |= _top_per_group(p, score, 2 * capacity + 10)
    ratio = score / np.maximum(amount, 1.0)
    cand |= _top_per_group(p, ratio, 2 * capacity + 10)
    for group, target in zip(groups, targets, strict=True):
        g = group[h]
        mean = np.bincount(g, weights=amount, minlength=len(target)) / np.maximum(
            np.bincount(g, minlength=len(target)), 1
        )
        limit = (3 * target / np.maximum(mean, 1.0)).astype(np.int64) + 20
        cand |= _top_per_group(g, ratio, limit)
    return cand


def match_single_fair(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    floors: Floors,
    taxonomy: Taxonomy | None = None,
    *,
    weights: ScoreWeights | None = None,
    time_limit: float = 60.0,
    max_edges: int = 60_000,
    exclude: Iterable[tuple[str, str]] | None = None,
):
    """Single-mode matching with floors per township or cause.

    Parameters
    ----------
    households, projects : DataFrame
        Canonical tables.
    floors : Floors
    taxonomy : Taxonomy, optional
    weights : ScoreWeights, optional
    time_limit : float, default=60.0
        Seconds for the unconstrained matching and for the integer program
        with floors, each.
    max_edges : int, default=60000
        Above this number of eligible pairs, the integer program keeps only
        candidate pairs: those of the unconstrained optimum, each project's
        best ``2 * capacity + 10`` by score and by score per CNY, and each
        floor group's best by score per CNY.
    exclude : iterable of (household_id, project_id), optional
        Pairs never to propose (see :func:`zfb.match_single`).

    Returns
    -------
    result : MatchResult
        With the floors. ``bound`` is the proven bound of the matching
        without floors, which bounds it too: the gap includes the price of
        the floors.
    report : FairnessReport
        Before (without floors) and after.

    Warns
    -----
    FloorWarning
        When a group stays short of its target.

    Notes
    -----
    The objective is ``sum score - M * sum_g shortfall_g / target_g`` with
    ``M`` the sum of all scores plus one: any gain on the floors outweighs
    the scores, except a gain smaller than a score's ``1 / M`` part. On a
    large county the candidate pairs make the program tractable but the
    result is then optimal for the candidates only; the gap against the
    unconstrained bound says how far it can be from the best.
    """
    from .single import MatchResult, _tables, _without, match_single

    exclude = list(exclude or ())
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    households = households.reset_index(drop=True)
    projects = projects.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZfbWarning)
        before = match_single(
            households,
            projects,
            taxonomy,
            weights=weights,
            time_limit=time_limit,
            exclude=exclude,
        )
    from .eligibility import build_eligibility

    clock = time.perf_counter()
    elig = build_eligibility(households, projects, taxonomy, weights)
    if exclude:
        elig = _without(elig, exclude)
    edges = elig.edges
    h = edges["h"].to_numpy()
    p = edges["p"].to_numpy()
    score = edges["score"].to_numpy(dtype=float)
    amount = edges["amount"].to_numpy(dtype=float)
    capacity = projects["capacity"].to_numpy(dtype=np.int64)
    budget = projects["budget"].to_numpy(dtype=float)
    demand = np.nan_to_num(elig.base_amount)
    spec = floor_groups(households, floors, demand, h, amount, taxonomy)
    chosen0 = before.edges["matched"].to_numpy(dtype=bool)

    # candidate pairs
    cand = np.ones(len(h), dtype=bool)
    if len(h) > max_edges:
        cand = _candidates(
            h, p, score, amount, capacity, chosen0, spec.groups, spec.targets
        )
    idx = np.flatnonzero(cand)
    x_sub, stopped = _fair_mip(
        h[idx],
        p[idx],
        score[idx],
        amount[idx],
        capacity,
        budget,
        len(households),
        [(g, t) for g, t in spec.arrays],
        float(score.sum()) + 1.0,
        time_limit,
    )
    if x_sub is None:
        warnings.warn(
            "the integer program with floors found no assignment within the time "
            "limit; the assignment without floors is returned",
            FloorWarning,
            stacklevel=2,
        )
        chosen = chosen0
    else:
        chosen = np.zeros(len(h), dtype=bool)
        chosen[idx[x_sub]] = True
    objective = float(score[chosen].sum())
    bound = max(before.bound, objective)
    from .modes import relative_gap
    from .solvers import Solution

    gap = relative_gap(objective, bound)
    status = "optimal" if gap <= 1e-7 else "feasible"
    sol = Solution(chosen, objective, bound, status)
    matches, unmatched, proj = _tables(
        households, projects, elig, sol, taxonomy, weights
    )
    result = MatchResult(
        matches,
        unmatched,
        proj,
        edges=before.edges.assign(matched=chosen),
        total_score=objective,
        status=status,
        bound=bound,
        gap=gap,
        solver="highs_mip_floors",
        time_limit_reached=before.time_limit_reached or stopped,
        timings={**before.timings, "floors": time.perf_counter() - clock},
    )
    x0 = np.where(chosen0, amount, 0.0)
    x1 = np.where(chosen, amount, 0.0)
    report = fairness_report_from_arrays(spec, x0, x1, h)
    return result, report


def _fair_mip(h, p, score, amount, capacity, budget, n_h, floors, penalty, time_limit):
    """0-1 program: score minus penalised relative shortfall. Return the chosen
    mask (or None) and whether the time limit stopped the solver."""
    n_e = len(h)
    n_p = len(capacity)
    # budget rows divided by the budget per household of capacity
    unit = np.maximum(budget / np.maximum(capacity, 1), 1.0)
    rows = [h, n_h + p, n_h + n_p + p]
    vals = [np.ones(n_e), np.ones(n_e), amount / unit[p]]
    cols = [np.arange(n_e)] * 3
    upper = [np.ones(n_h), capacity.astype(float), budget / unit]
    lower = [np.full(n_h, -np.inf), np.full(n_p, -np.inf), np.full(n_p, -np.inf)]
    n_rows = n_h + 2 * n_p
    n_z = 0
    zc = []
    for group, target in floors:
        g = group[h]
        ok = g >= 0
        n_g = len(target)
        rows += [n_rows + g[ok], n_rows + np.arange(n_g)]
        vals += [amount[ok], np.ones(n_g)]
        cols += [np.arange(n_e)[ok], n_e + n_z + np.arange(n_g)]
        lower.append(target.astype(float))
        upper.append(np.full(n_g, np.inf))
        zc.append(penalty / np.maximum(target, 1.0))
        n_rows += n_g
        n_z += n_g
    a_mat = sp.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_e + n_z),
    )
    c = np.concatenate([-score, *zc]) if zc else -score
    hi = np.concatenate([np.ones(n_e), *(t for _, t in floors)])
    res = milp(
        c,
        integrality=np.concatenate([np.ones(n_e), np.zeros(n_z)]),
        bounds=Bounds(np.zeros(n_e + n_z), hi),
        constraints=LinearConstraint(
            a_mat, np.concatenate(lower), np.concatenate(upper)
        ),
        options={"time_limit": max(float(time_limit), 1.0), "mip_rel_gap": 1e-6},
    )
    stopped = res.status == 1  # the time limit
    if res.x is None:
        logger.info("integer program with floors: %s", res.message)
        return None, stopped
    return res.x[:n_e] > 0.5, stopped
