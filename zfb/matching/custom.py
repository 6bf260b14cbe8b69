"""Custom selection (定制): the best households for a funder's own criteria.

A funder states criteria (:class:`Criteria`): causes or need kinds,
townships, household traits (:data:`TRAITS`, such as "has a child in
school" or "elderly living alone"), an income ceiling, a status, the number
of households and a budget. :func:`select_custom` keeps the households that
fit every criterion, scores them as a project with those tags would (the
score of single mode), and returns the selection of largest total score
within the number and the budget, ranked, each with the reason it was
chosen.

The selection is the single-mode problem with one project: a knapsack with
a cardinality row, solved by the single-mode solvers (a min-cost flow when
the budget cannot bind, else HiGHS with a proven bound).

When the criteria leave no household, :class:`~zfb.errors.InfeasibleError`
says which criterion emptied the set, how many households were left before
it and how many each criterion keeps on its own.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, InfeasibleError, UnknownCauseError
from ..taxonomy import Taxonomy, load_taxonomy
from .eligibility import build_eligibility, covers
from .modes import relative_gap
from .scoring import ScoreWeights, explain_frame
from .solvers import budget_can_bind, solve_flow, solve_greedy, solve_mip

__all__ = ["TRAITS", "Criteria", "Selection", "select_custom"]

logger = logging.getLogger(__name__)


def _ge(column: str, k: int = 1) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda df: df[column].fillna(0).to_numpy(dtype=float) >= k


def _flag(column: str) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda df: df[column].fillna(False).to_numpy(dtype=bool)


def _elderly_alone(df: pd.DataFrame) -> np.ndarray:
    elderly = df["elderly_count"].fillna(0).to_numpy(dtype=float)
    return (elderly >= 1) & (elderly >= df["size"].to_numpy(dtype=float))


def _no_labour(df: pd.DataFrame) -> np.ndarray:
    return df["labour_count"].fillna(-1).to_numpy(dtype=float) == 0


#: Household traits a funder may ask for: name -> (description, columns, rule).
TRAITS: dict[str, tuple[str, tuple[str, ...], Callable[[pd.DataFrame], np.ndarray]]] = {
    "child_in_school": (
        "has a child in school",
        ("children_in_school",),
        _ge("children_in_school"),
    ),
    "elderly_alone": (
        "elderly living alone (every member elderly)",
        ("elderly_count", "size"),
        _elderly_alone,
    ),
    "elderly_member": (
        "has an elderly member",
        ("elderly_count",),
        _ge("elderly_count"),
    ),
    "ill_member": (
        "has a member with an illness",
        ("members_ill",),
        _ge("members_ill"),
    ),
    "disabled_member": (
        "has a disabled member",
        ("members_disabled",),
        _ge("members_disabled"),
    ),
    "no_labour": ("no member able to work", ("labour_count",), _no_labour),
    "large_family": ("five members or more", ("size",), _ge("size", 5)),
    "unsafe_housing": (
        "lives in an unsafe house",
        ("unsafe_housing",),
        _flag("unsafe_housing"),
    ),
    "has_debt": ("is in debt", ("has_debt",), _flag("has_debt")),
    "returned_to_poverty": (
        "returned to poverty",
        ("returned_to_poverty",),
        _flag("returned_to_poverty"),
    ),
}


@dataclass(frozen=True)
class Criteria:
    """A funder's criteria for a custom selection.

    Parameters
    ----------
    causes : tuple of str, default=()
        Cause codes, names or aliases (resolved with the taxonomy); a
        household fits when one of its causes is covered (a primary covers
        its secondaries). Empty: every cause.
    need_kinds : tuple of str, default=()
        Need-kind codes or names; with causes, a household fits either.
    townships : tuple of str, default=()
        Empty: the whole county.
    traits : tuple of str, default=()
        Names from :data:`TRAITS`; a household must have all of them.
    income_ceiling : float, optional
        Largest ``income_per_capita`` (CNY per person per year).
    status : tuple of str, default=()
        Registry statuses kept (``poor``, ``pre_exit``, ``exited``).
    households : int, optional
        Most households selected. Default: as many as the budget allows.
    budget : float, optional
        CNY in all. Default: no limit.
    per_household_cap : float, optional
        Most CNY per household.
    title : str, default="custom selection"
        Shown in the summary.

    Raises
    ------
    ConfigError
        If a trait is unknown or a number is not positive.
    """

    causes: tuple[str, ...] = ()
    need_kinds: tuple[str, ...] = ()
    townships: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()
    income_ceiling: float | None = None
    status: tuple[str, ...] = ()
    households: int | None = None
    budget: float | None = None
    per_household_cap: float | None = None
    title: str = "custom selection"

    def __post_init__(self) -> None:
        for name in ("causes", "need_kinds", "townships", "traits", "status"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v).strip() for v in value))
        unknown = [t for t in self.traits if t not in TRAITS]
        if unknown:
            raise ConfigError(
                f"unknown trait(s) {', '.join(unknown)}; "
                f"known traits: {', '.join(TRAITS)}"
            )
        for name in ("income_ceiling", "budget", "per_household_cap"):
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, int | float) and math.isfinite(value) and value > 0
            ):
                raise ConfigError(
                    f"criterion {name} must be a positive number of CNY; got {value!r}"
                )
        if self.households is not None and (
            not isinstance(self.households, int | np.integer) or self.households < 1
        ):
            raise ConfigError(
                "criterion households must be a whole number, 1 or more; "
                f"got {self.households!r}"
            )

    @classmethod
    def from_dict(cls, values: Mapping) -> Criteria:
        """Criteria from a mapping whose keys are the parameters' names.

        Raises
        ------
        ConfigError
            On an unknown key.
        """
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown criteria key(s) {', '.join(unknown)}; "
                f"known: {', '.join(known)}"
            )
        return cls(**dict(values))

    @classmethod
    def from_toml(cls, path: str | Path) -> Criteria:
        """Criteria from a TOML file: top-level keys, or a ``[criteria]`` table.

        Examples
        --------
        A file such as::

            title = "助学 scholarships"
            causes = ["EDU"]
            traits = ["child_in_school"]
            income_ceiling = 3000
            households = 200
            budget = 600000
        """
        from .modes import read_toml

        raw = read_toml(path)
        raw = raw.get("criteria", raw)
        try:
            return cls.from_dict(raw)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def describe(self, name: str, taxonomy: Taxonomy) -> str:
        """The criterion ``name`` in words."""
        value = getattr(self, name)
        if name in ("causes", "need_kinds"):
            return f"{name} " + ", ".join(value)
        if name == "traits":
            return "; ".join(TRAITS[t][0] for t in value)
        if isinstance(value, tuple):
            return f"{name} " + ", ".join(value)
        return (
            f"{name} {value:,}" if isinstance(value, int | float) else f"{name} {value}"
        )


@dataclass
class Selection:
    """The result of :func:`select_custom`.

    Attributes
    ----------
    table : DataFrame
        One row per selected household, best first: ``rank`` (1 ...),
        ``household_id``, ``township``, ``village``, ``amount`` (CNY),
        ``score``, ``relevance``, ``priority``, ``reason`` (why it fits and
        why it scores what it does).
    funnel : DataFrame
        One row per criterion given, in the order applied: ``criterion``,
        ``value``, ``alone`` (households it keeps on its own), ``left``
        (households left after it and every criterion before it).
    total_score, bound, gap : float
    status : {"optimal", "feasible"}
    solver : str
    criteria : Criteria
    timings : dict of str to float
    """

    table: pd.DataFrame
    funnel: pd.DataFrame
    total_score: float
    status: str
    bound: float
    gap: float
    solver: str
    criteria: Criteria
    timings: dict[str, float] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """What the command line prints."""
        c = self.criteria
        budget = "no limit" if c.budget is None else f"{c.budget:,.0f} CNY"
        left = int(self.funnel["left"].iloc[-1]) if len(self.funnel) else 0
        return [
            f"{c.title}: {len(self.table)} households selected of {left} that fit "
            f"the criteria; amount {self.table['amount'].sum():,.0f} CNY of {budget}",
            f"total score {self.total_score:.4f} ({self.status}"
            + (f", gap {self.gap:.2%}" if self.gap and self.gap > 0 else "")
            + f", {self.solver})",
        ]


def _resolve(values, resolver, what: str) -> list[str]:
    out = []
    for v in values:
        try:
            out.append(resolver(v))
        except UnknownCauseError as exc:
            raise ConfigError(f"criterion {what}: {exc}") from None
    return out


def _cause_mask(
    households: pd.DataFrame, tags: list[str], kinds: list[str], need_kind
) -> np.ndarray:
    """Whether one of a household's causes is covered, or its need kind listed."""
    parts = households["causes"].astype(str).str.split(";").explode().str.strip()
    hit = (
        parts.map(lambda c: any(covers(t, c) for t in tags))
        if tags
        else parts.map(lambda c: False)
    )
    mask = (
        hit.groupby(level=0)
        .any()
        .reindex(range(len(households)), fill_value=False)
        .to_numpy()
    )
    if kinds:
        mask |= np.isin(need_kind.astype(str), kinds)
    return mask


def select_custom(
    households: pd.DataFrame,
    criteria: Criteria | Mapping,
    taxonomy: Taxonomy | None = None,
    *,
    weights: ScoreWeights | None = None,
    solver: str = "auto",
    time_limit: float = 60.0,
) -> Selection:
    """Select, rank and explain the best households that fit a funder's criteria.

    Parameters
    ----------
    households : DataFrame
        Canonical households table; the traits asked for need their columns.
    criteria : Criteria or dict
    taxonomy : Taxonomy, optional
    weights : ScoreWeights, optional
    solver : {"auto", "greedy"}, default="auto"
        ``"auto"``: exact (min-cost flow or HiGHS); ``"greedy"``: highest
        score first while the budget allows, a baseline.
    time_limit : float, default=60.0

    Returns
    -------
    Selection

    Raises
    ------
    InfeasibleError
        If no household fits: names the criterion that emptied the set (or
        the budget, when every household that fits costs more).
    ConfigError
        If a cause, need kind or trait is unknown, or a trait's column is
        missing from the households table.

    Notes
    -----
    Criteria are applied in this order: causes and need kinds, townships,
    status, each trait, income ceiling, amount known and within the budget.
    A household whose amount is unknown (no ``need_amount``, no typical
    amount for its need kind) cannot be selected. The score is the one a
    project with the criteria's causes as tags would give (an exact
    secondary cause 1.0, a need kind 0.8, a category 0.5, times the
    priority); with no causes, every household is scored as matched on its
    category, so priority alone ranks them.
    """
    if solver not in ("auto", "greedy"):
        raise ConfigError(f"solver must be 'auto' or 'greedy'; got {solver!r}")
    if not isinstance(criteria, Criteria):
        criteria = Criteria.from_dict(criteria)
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    households = households.reset_index(drop=True)
    n = len(households)
    clock = time.perf_counter()
    tags = _resolve(criteria.causes, taxonomy.resolve, "causes")
    kinds = _resolve(criteria.need_kinds, taxonomy.resolve_need_kind, "need_kinds")

    # the funnel
    steps: list[tuple[str, str, np.ndarray]] = []
    need_kind = (
        households["need_kind"].astype(object).fillna("").to_numpy()
        if "need_kind" in households
        else np.full(n, "")
    )
    if tags or kinds:
        steps.append(
            (
                "causes",
                ", ".join(tags + kinds),
                _cause_mask(households, tags, kinds, need_kind),
            )
        )
    if criteria.townships:
        steps.append(
            (
                "townships",
                ", ".join(criteria.townships),
                households["township"].astype(str).isin(criteria.townships).to_numpy(),
            )
        )
    if criteria.status:
        if "status" not in households:
            raise ConfigError(
                "criterion status needs a status column in the households table"
            )
        steps.append(
            (
                "status",
                ", ".join(criteria.status),
                households["status"].astype(str).isin(criteria.status).to_numpy(),
            )
        )
    for trait in criteria.traits:
        text, columns, rule = TRAITS[trait]
        missing = [c for c in columns if c not in households]
        if missing:
            raise ConfigError(
                f"trait {trait} ({text}) needs the column(s) {', '.join(missing)} "
                "in the households table"
            )
        steps.append((f"trait {trait}", text, rule(households)))
    if criteria.income_ceiling is not None:
        steps.append(
            (
                "income_ceiling",
                f"{criteria.income_ceiling:,.0f} CNY",
                households["income_per_capita"].to_numpy(dtype=float)
                <= criteria.income_ceiling,
            )
        )

    # scoring: a project with the criteria as its tags
    every = ";".join(taxonomy.primaries)
    project = pd.DataFrame(
        {
            "project_id": ["custom"],
            "funder": ["custom"],
            "tags": [";".join(tags + kinds) or every],
            "budget": [criteria.budget or 1e15],
            "capacity": [criteria.households or max(n, 1)],
            "townships": [";".join(criteria.townships) or "*"],
            "per_household_cap": [
                criteria.per_household_cap if criteria.per_household_cap else np.nan
            ],
            "modes": ["single"],
        }
    )
    elig = build_eligibility(households, project, taxonomy, weights)
    edges = elig.edges
    amount_of = np.full(n, np.nan)
    amount_of[edges["h"].to_numpy()] = edges["amount"].to_numpy(float)
    within = ~np.isnan(amount_of)
    if criteria.budget is not None:
        within &= amount_of <= criteria.budget
    label = "amount known" + (
        ""
        if criteria.budget is None
        else f" and at most the budget {criteria.budget:,.0f} CNY"
    )
    steps.append(("budget" if criteria.budget is not None else "amount", label, within))

    rows = []
    keep = np.ones(n, dtype=bool)
    for name, value, mask in steps:
        before = int(keep.sum())
        keep &= mask
        rows.append((name, value, int(mask.sum()), int(keep.sum())))
        if not keep.any():
            alone = "; ".join(f"{r[0]} {r[2]:,}" for r in rows)
            if name in ("budget", "amount") and before:
                fit = amount_of[_mask_before(rows, steps)]
                fit = fit[~np.isnan(fit)]
                cheapest = fit.min() if len(fit) else float("nan")
                raise InfeasibleError(
                    f"criterion {name} left no household: {before:,} households fit "
                    f"the criteria before it, and the cheapest of them needs "
                    f"{cheapest:,.0f} CNY; raise the budget"
                    if np.isfinite(cheapest)
                    else f"criterion {name} left no household: the {before:,} "
                    "households that fit have no known amount (need_amount or a "
                    "typical amount)"
                )
            raise InfeasibleError(
                f"criterion {name} ({value}) left no household: {before:,} fit the "
                f"criteria before it. On its own each criterion keeps: {alone} "
                f"(of {n:,}); loosen {name} or the criteria before it"
            )
    funnel = pd.DataFrame(rows, columns=["criterion", "value", "alone", "left"])
    for col in ("criterion", "value"):
        funnel[col] = funnel[col].astype("str")
    timings = {"criteria": time.perf_counter() - clock}

    # the knapsack with a cardinality row
    clock = time.perf_counter()
    sel = keep[edges["h"].to_numpy()]
    e = edges[sel].reset_index(drop=True)
    h = e["h"].to_numpy()
    p = np.zeros(len(e), dtype=np.int64)
    score = e["score"].to_numpy(float)
    amount = e["amount"].to_numpy(float)
    capacity = np.array([criteria.households or len(e)], dtype=np.int64)
    budget = np.array(
        [criteria.budget if criteria.budget is not None else amount.sum() + 1.0]
    )
    if solver == "greedy":
        sol = solve_greedy(h, p, score, amount, capacity, budget)
        used = "greedy"
    else:
        bind = budget_can_bind(p, amount, capacity, budget)
        if bind.any():
            # a funder's selection is small: prove its optimum exactly
            sol = solve_mip(
                h, p, score, amount, capacity, budget, bind, time_limit=time_limit,
                mip_gap=0.0,
            )  # fmt: skip
            used = "highs_mip"
        else:
            sol = solve_flow(h, p, score, capacity)
            used = "min_cost_flow"
    timings["solve"] = time.perf_counter() - clock

    # the ranked table with reasons
    hit = e[sol.chosen]
    hpos = hit["h"].to_numpy()
    pairs = hit.assign(
        need_implied=elig.need_implied[hpos],
        income_per_capita=households["income_per_capita"].to_numpy(float)[hpos],
    )
    why = explain_frame(pairs, taxonomy, weights).to_numpy(dtype=object)
    fits = [TRAITS[t][0] for t in criteria.traits]
    if criteria.income_ceiling is not None:
        fits.append(f"income at most {criteria.income_ceiling:,.0f} CNY/person")
    prefix = ("fits: " + "; ".join(fits) + ". ") if fits else ""
    table = pd.DataFrame(
        {
            "household_id": hit["household_id"].to_numpy(dtype=object),
            "township": households["township"].to_numpy(dtype=object)[hpos],
            "village": households["village"].to_numpy(dtype=object)[hpos]
            if "village" in households
            else None,
            "amount": hit["amount"].to_numpy(float),
            "score": hit["score"].to_numpy(float),
            "relevance": hit["relevance"].to_numpy(float),
            "priority": hit["priority"].to_numpy(float),
            "reason": [prefix + w[0].upper() + w[1:] for w in why],
        }
    )
    order = np.lexsort(
        (table["household_id"].to_numpy(dtype=str), -table["score"].to_numpy())
    )
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1, dtype=np.int64))
    for col in ("household_id", "township", "village", "reason"):
        table[col] = table[col].astype("str")
    bound = sol.bound
    gap = relative_gap(sol.objective, bound)
    logger.info("custom selection: %d households, %s", len(table), sol.status)
    return Selection(
        table=table,
        funnel=funnel,
        total_score=sol.objective,
        status=sol.status,
        bound=bound,
        gap=gap,
        solver=used,
        criteria=criteria,
        timings=timings,
    )


def _mask_before(rows, steps) -> np.ndarray:
    """Households that fit every criterion before the last one applied."""
    keep = np.ones(len(steps[0][2]), dtype=bool)
    for _, _, mask in steps[: len(rows) - 1]:
        keep &= mask
    return keep
