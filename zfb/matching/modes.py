"""Every matching mode behind one call, and the options of ``zfb match --mode``.

:func:`run_mode` runs one of the four modes of a project (``single``,
``crowdfunding``, ``bundle``, ``custom``) on the canonical tables and returns
a :class:`ModeResult`: the tables to write, named by their output file, the
total score with its proven bound and gap, and the lines the command prints.
:func:`add_mode_arguments` and :func:`options_from_args` turn the command-line
options into the ``options`` of :func:`run_mode`.

The helpers :func:`accepts_mode` and :func:`mode_eligibility` give the other
modes the eligibility join of single mode, for the projects that accept
another mode.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError
from ..taxonomy import Taxonomy, load_taxonomy
from .eligibility import Eligibility, build_eligibility
from .scoring import ScoreWeights

__all__ = [
    "MODES",
    "ModeResult",
    "accepts_mode",
    "add_mode_arguments",
    "mode_eligibility",
    "options_from_args",
    "run_mode",
]

logger = logging.getLogger(__name__)

#: The modes a project may accept, as written in its ``modes`` column.
MODES: tuple[str, ...] = ("single", "crowdfunding", "bundle", "custom")


# eligibility per mode
def accepts_mode(modes: pd.Series, mode: str) -> np.ndarray:
    """Whether each project accepts ``mode``.

    Parameters
    ----------
    modes : Series of str
        The projects' ``modes`` column (``;``-joined mode names); NA means
        ``single``, the default of the data model.
    mode : {"single", "crowdfunding", "bundle", "custom"}

    Returns
    -------
    ndarray of bool, shape (n_projects,)

    Raises
    ------
    ConfigError
        If ``mode`` is not one of :data:`MODES`.
    """
    _check_mode(mode)
    text = ";" + modes.fillna("single").astype(str).str.replace(" ", "") + ";"
    return text.str.contains(f";{mode};", regex=False).to_numpy(dtype=bool)


def mode_eligibility(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    mode: str,
    taxonomy: Taxonomy | None = None,
    weights: ScoreWeights | None = None,
) -> Eligibility:
    """The eligible pairs of single mode, for the projects that accept ``mode``.

    A household and a project are paired by the rules of
    :func:`zfb.matching.eligible_edges` (tags cover a cause or the need kind,
    the township is covered), except that the project must accept ``mode``
    instead of ``single``.

    Parameters
    ----------
    households, projects : DataFrame
        Canonical tables with a RangeIndex.
    mode : {"single", "crowdfunding", "bundle", "custom"}
    taxonomy : Taxonomy, optional
    weights : ScoreWeights, optional

    Returns
    -------
    Eligibility
        As built by :func:`zfb.matching.eligibility.build_eligibility`; its
        ``edges`` hold ``h`` and ``p``, row positions in the two tables.
    """
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    modes = (
        projects["modes"] if "modes" in projects else pd.Series([None] * len(projects))
    )
    accepted = accepts_mode(modes.reset_index(drop=True), mode)
    relabelled = projects.assign(modes=np.where(accepted, "single", "none"))
    return build_eligibility(households, relabelled, taxonomy, weights)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")


def relative_gap(objective: float, bound: float) -> float:
    """``(bound - objective) / bound``, 0 when they agree, NaN without a bound."""
    if not math.isfinite(bound):
        return float("nan")
    return max(bound - objective, 0.0) / max(abs(bound), 1e-12)


# result
@dataclass
class ModeResult:
    """What :func:`run_mode` returns.

    Attributes
    ----------
    mode : str
        The mode that ran.
    tables : dict of str to DataFrame
        Output file name to table, in the order to write them, for example
        ``"matches.csv"``, ``"unmatched.csv"``, ``"projects.csv"``,
        ``"progress.csv"``, ``"pledges.csv"``, ``"bundles.csv"``,
        ``"members.csv"``, ``"selection.csv"``, ``"fairness.csv"``.
        Each table's columns are described by the function of its mode.
    total_score : float
    status : {"optimal", "feasible"}
    bound : float
        Proven upper bound on the total score (NaN for a greedy solve).
    gap : float
        ``(bound - total_score) / bound``.
    lines : list of str
        What ``zfb match --mode`` prints.
    result : object
        The mode's own result (``MatchResult``, ``CrowdfundingResult``,
        ``BundleResult`` or ``Selection``), for use from Python.
    """

    mode: str
    tables: dict[str, pd.DataFrame]
    total_score: float
    status: str
    bound: float
    gap: float
    lines: list[str] = field(default_factory=list)
    result: Any = None


# dispatcher
_DEFAULTS: dict[str, Any] = {
    "time_limit": 60.0,
    "solver": "auto",
    "floor_township": None,
    "floor_cause": None,
    "pledges_file": None,
    "funds_file": None,
    "deadline": None,
    "as_of": None,
    "on_expiry": "refund",
    "bundle_size": 5,
    "bundle_by": "township",
    "bundle_cause": "main",
    "mix_causes": False,
    "bundle_crowdfund": False,
    "criteria_file": None,
    "criteria": None,
    "progress": False,
    "exclude": None,
    "mip_gap": 1e-4,
}


def run_mode(
    mode: str,
    households: pd.DataFrame,
    projects: pd.DataFrame,
    *,
    taxonomy: Taxonomy | None = None,
    pledges: pd.DataFrame | None = None,
    options: Mapping[str, Any] | None = None,
) -> ModeResult:
    """Run one matching mode and return its tables and summary.

    Parameters
    ----------
    mode : {"single", "crowdfunding", "bundle", "custom"}
        ``single``: :func:`zfb.match_single` (or, with a floor,
        :func:`zfb.matching.fairness.match_single_fair`). ``crowdfunding``:
        :func:`zfb.matching.crowdfunding.crowdfund`. ``bundle``:
        :func:`zfb.matching.bundles.match_bundles`. ``custom``:
        :func:`zfb.matching.custom.select_custom` with the criteria given,
        else the projects that accept ``custom``, matched as in single mode.
    households, projects : DataFrame
        Canonical tables, validated.
    taxonomy : Taxonomy, optional
    pledges : DataFrame, optional
        Pledges already made (crowdfunding, or bundle with
        ``bundle_crowdfund``); see :func:`zfb.matching.crowdfunding.crowdfund`.
        When absent, ``options["pledges_file"]`` is read.
    options : dict, optional
        Keys, as returned by :func:`options_from_args` (missing keys take
        their defaults): ``time_limit`` (60), ``solver`` (``"auto"``),
        ``floor_township``, ``floor_cause`` (CNY or None), ``pledges_file``,
        ``funds_file`` (matching funds, TOML or CSV), ``deadline``,
        ``as_of`` (dates), ``on_expiry`` (``"refund"`` or ``"keep"``),
        ``bundle_size`` (5), ``bundle_by`` (``"township"`` or ``"none"``),
        ``bundle_cause`` (``"main"`` or ``"primary"``), ``mix_causes``
        (False), ``bundle_crowdfund`` (False), ``criteria_file`` or
        ``criteria`` (a dict), ``progress`` (False), ``exclude`` (pairs
        never to propose in single mode, see :func:`zfb.match_single`),
        ``mip_gap`` (1e-4, single mode; 0 proves the optimum exactly).

    Returns
    -------
    ModeResult

    Raises
    ------
    ConfigError
        If the mode or an option is unknown or invalid.
    InfeasibleError
        If custom criteria leave no household.
    ValidationError, InputError
        If an input table or file is wrong.
    """
    _check_mode(mode)
    opts = dict(_DEFAULTS)
    unknown = sorted(set(options or {}) - set(_DEFAULTS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)}; known: {', '.join(_DEFAULTS)}"
        )
    opts.update(options or {})
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    households = households.reset_index(drop=True)
    projects = projects.reset_index(drop=True)
    if pledges is None and opts["pledges_file"]:
        from .crowdfunding import read_pledges

        pledges = read_pledges(opts["pledges_file"])
    run = {
        "single": _run_single,
        "crowdfunding": _run_crowdfunding,
        "bundle": _run_bundle,
        "custom": _run_custom,
    }[mode]
    return run(households, projects, taxonomy, pledges, opts)


def _floors(opts):
    from .fairness import Floors

    if opts["floor_township"] is None and opts["floor_cause"] is None:
        return None
    return Floors(township=opts["floor_township"], cause=opts["floor_cause"])


def _score_line(total, status, gap, bound, stopped=False) -> str:
    gap_text = f", gap {_percent(gap)}, bound {bound:.4f}" if gap and gap > 0 else ""
    if stopped:
        gap_text += "; stopped by the time limit, so another run may differ"
    return f"total score {total:.4f} ({status}{gap_text})"


def _percent(ratio: float) -> str:
    """A gap as a percentage with two significant digits (0.0052%, 0.11%)."""
    return f"{ratio * 100:.2g}%" if ratio < 0.01 else f"{ratio:.2%}"


def _run_single(households, projects, taxonomy, pledges, opts) -> ModeResult:
    from .fairness import fairness_table, match_single_fair
    from .single import match_single

    floors = _floors(opts)
    if floors is None:
        result = match_single(
            households,
            projects,
            taxonomy,
            solver=opts["solver"],
            time_limit=opts["time_limit"],
            progress=opts["progress"],
            exclude=opts["exclude"],
            mip_gap=opts["mip_gap"],
        )
        fairness = None
    else:
        result, fairness = match_single_fair(
            households,
            projects,
            floors,
            taxonomy,
            time_limit=opts["time_limit"],
            exclude=opts["exclude"],
        )
    tables = {
        "matches.csv": result.matches,
        "unmatched.csv": result.unmatched,
        "projects.csv": result.projects,
        "edges.csv": result.edges,
    }
    lines = [
        f"matched {len(result.matches)} of {len(households)} households to "
        f"{result.matches['project_id'].nunique()} of {len(projects)} projects; "
        f"amount {result.matches['amount'].sum():,.0f} CNY",
        _score_line(
            result.total_score,
            result.status,
            result.gap,
            result.bound,
            result.time_limit_reached,
        ),
    ]
    if fairness is not None:
        tables["fairness.csv"] = fairness.table
        lines.append(fairness.summary())
    else:
        lines.append(
            "funded share by township: "
            + fairness_table(households, result.matches, by="township").summary()
        )
    return ModeResult(
        "single",
        tables,
        result.total_score,
        result.status,
        result.bound,
        result.gap,
        lines,
        result,
    )


def _load_funds(opts):
    if not opts["funds_file"]:
        return None
    from .funds import read_funds

    return read_funds(opts["funds_file"])


def _run_crowdfunding(households, projects, taxonomy, pledges, opts) -> ModeResult:
    from .crowdfunding import crowdfund

    result = crowdfund(
        households,
        projects,
        pledges,
        taxonomy,
        funds=_load_funds(opts),
        deadline=opts["deadline"],
        as_of=opts["as_of"],
        on_expiry=opts["on_expiry"],
        floors=_floors(opts),
        solver=opts["solver"],
        time_limit=opts["time_limit"],
    )
    tables = result.tables()
    return ModeResult(
        "crowdfunding",
        tables,
        result.total_score,
        result.status,
        result.bound,
        result.gap,
        result.summary_lines(),
        result,
    )


def _run_bundle(households, projects, taxonomy, pledges, opts) -> ModeResult:
    from .bundles import make_bundles, match_bundles
    from .crowdfunding import crowdfund

    bundles = make_bundles(
        households,
        size=opts["bundle_size"],
        by=opts["bundle_by"],
        cause=opts["bundle_cause"],
        mix_causes=opts["mix_causes"],
        taxonomy=taxonomy,
    )
    if opts["bundle_crowdfund"]:
        result = crowdfund(
            bundles.units,
            projects,
            pledges,
            taxonomy,
            mode="bundle",
            funds=_load_funds(opts),
            deadline=opts["deadline"],
            as_of=opts["as_of"],
            on_expiry=opts["on_expiry"],
            solver=opts["solver"],
            time_limit=opts["time_limit"],
        )
        tables = {
            "bundles.csv": bundles.table,
            "members.csv": bundles.members,
            **result.tables(),
        }
        lines = [
            f"{len(bundles.table)} bundles of up to {opts['bundle_size']} "
            f"households ({bundles.members.shape[0]} households)",
            *result.summary_lines(),
        ]
        return ModeResult(
            "bundle",
            tables,
            result.total_score,
            result.status,
            result.bound,
            result.gap,
            lines,
            result,
        )
    result = match_bundles(
        households,
        projects,
        bundles,
        taxonomy,
        solver="greedy" if opts["solver"] == "greedy" else "auto",
        time_limit=opts["time_limit"],
    )
    tables = {
        "bundles.csv": result.bundles,
        "members.csv": bundles.members,
        "matches.csv": result.matches,
        "unmatched.csv": result.unmatched,
        "projects.csv": result.projects,
    }
    return ModeResult(
        "bundle",
        tables,
        result.total_score,
        result.status,
        result.bound,
        result.gap,
        result.summary_lines(),
        result,
    )


def _run_custom(households, projects, taxonomy, pledges, opts) -> ModeResult:
    from .custom import Criteria, select_custom

    criteria = opts["criteria"]
    if criteria is None and opts["criteria_file"]:
        criteria = Criteria.from_toml(opts["criteria_file"])
    if criteria is None:
        if not accepts_mode(
            projects.get("modes", pd.Series([None] * len(projects))), "custom"
        ).any():
            raise ConfigError(
                "mode custom needs criteria: pass --criteria FILE (TOML, see "
                "docs/modes.md), or projects that accept the mode custom"
            )
        from .single import match_single

        relabelled = projects.assign(
            modes=np.where(accepts_mode(projects["modes"], "custom"), "single", "none")
        )
        result = match_single(
            households,
            relabelled,
            taxonomy,
            solver=opts["solver"],
            time_limit=opts["time_limit"],
        )
        matches = result.matches
        lines = [
            f"matched {len(matches)} households to "
            f"{matches['project_id'].nunique()} custom projects; amount "
            f"{matches['amount'].sum():,.0f} CNY",
            _score_line(result.total_score, result.status, result.gap, result.bound),
        ]
        tables = {
            "matches.csv": matches,
            "unmatched.csv": result.unmatched,
            "projects.csv": result.projects[accepts_mode(projects["modes"], "custom")],
        }
        return ModeResult(
            "custom",
            tables,
            result.total_score,
            result.status,
            result.bound,
            result.gap,
            lines,
            result,
        )
    if not isinstance(criteria, Criteria):
        criteria = Criteria.from_dict(criteria)
    selection = select_custom(
        households,
        criteria,
        taxonomy,
        solver="greedy" if opts["solver"] == "greedy" else "auto",
        time_limit=opts["time_limit"],
    )
    tables = {"selection.csv": selection.table, "criteria.csv": selection.funnel}
    return ModeResult(
        "custom",
        tables,
        selection.total_score,
        selection.status,
        selection.bound,
        selection.gap,
        selection.summary_lines(),
        selection,
    )


# command line
def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date as YYYY-MM-DD, got {text!r}"
        ) from None


def _amount(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"expected an amount in CNY, 0 or more, got {text!r}"
        )
    return value


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number of households, 1 or more, got {text!r}"
        )
    return value


def add_mode_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``zfb match --mode`` to ``parser``.

    Adds ``--mode`` (unless the parser has it already) and one argument group
    per mode: fairness floors (``--floor-township``, ``--floor-cause``),
    crowdfunding (``--pledges``, ``--funds``, ``--deadline``, ``--as-of``,
    ``--on-expiry``), bundles (``--bundle-size``, ``--bundle-by``,
    ``--bundle-cause``, ``--mix-causes``, ``--bundle-crowdfund``) and custom
    selection (``--criteria``). ``--time-limit`` is read when the parser has
    it, not added.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    if "--mode" not in parser._option_string_actions:
        parser.add_argument(
            "--mode",
            choices=MODES,
            default="single",
            help="matching mode (default single); see docs/modes.md",
        )
    if "--solver" not in parser._option_string_actions:
        parser.add_argument(
            "--solver",
            choices=("auto", "greedy"),
            default="auto",
            help="auto: the exact solvers with a proven bound; greedy: the "
            "highest score first, a baseline that is not optimal",
        )

    fair = parser.add_argument_group("fairness (modes single and crowdfunding)")
    fair.add_argument(
        "--floor-township",
        type=_amount,
        metavar="AMOUNT",
        help="each township receives at least AMOUNT CNY, or all its eligible "
        "need when that is less; fairness.csv shows the shares before and after",
    )
    fair.add_argument(
        "--floor-cause",
        type=_amount,
        metavar="AMOUNT",
        help="the same floor for each primary cause (main cause of the household)",
    )

    crowd = parser.add_argument_group("crowdfunding")
    crowd.add_argument(
        "--pledges",
        metavar="FILE",
        help="pledges already made (CSV or XLSX: pledge_id, donor, household_id, "
        "amount, pledged_on); they fill needs before any project's money",
    )
    crowd.add_argument(
        "--funds",
        metavar="FILE",
        help="matching funds (TOML or CSV: fund_id, funder, ratio, cap, and "
        "optionally per_pledge_cap, tags, townships, start, end) that match "
        "donors' pledges",
    )
    crowd.add_argument(
        "--deadline",
        type=_date,
        metavar="DATE",
        help="date (YYYY-MM-DD) after which a need not fully funded is released "
        "(default: the households' deadline column, else none)",
    )
    crowd.add_argument(
        "--as-of",
        type=_date,
        metavar="DATE",
        help="date of the run, compared with the deadline (default today)",
    )
    crowd.add_argument(
        "--on-expiry",
        choices=("refund", "keep"),
        default="refund",
        help="what happens to the pledges of a released need: refund them to "
        "the donors (all or nothing, default) or keep them for the household",
    )

    bundle = parser.add_argument_group("bundles")
    bundle.add_argument(
        "--bundle-size",
        type=_size,
        default=5,
        metavar="N",
        help="households per bundle (default 5); the last bundle of a group may "
        "be smaller",
    )
    bundle.add_argument(
        "--bundle-by",
        choices=("township", "none"),
        default="township",
        help="group the households of a bundle by township (default) or across "
        "the county",
    )
    bundle.add_argument(
        "--bundle-cause",
        choices=("main", "primary"),
        default="main",
        help="the cause a bundle shares: the main cause as recorded (default) "
        "or its primary category",
    )
    bundle.add_argument(
        "--mix-causes",
        action="store_true",
        help="allow households of different causes in one bundle",
    )
    bundle.add_argument(
        "--bundle-crowdfund",
        action="store_true",
        help="crowdfund the bundles (with --pledges, --deadline ...) instead of "
        "matching each to one project",
    )

    custom = parser.add_argument_group("custom selection")
    custom.add_argument(
        "--criteria",
        metavar="FILE",
        help="a funder's criteria (TOML: causes, townships, traits, "
        "income_ceiling, households, budget ...; see docs/modes.md)",
    )


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``options`` of :func:`run_mode` from parsed command-line arguments.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser that went through :func:`add_mode_arguments`.

    Returns
    -------
    dict
        The keys of ``run_mode``'s ``options``; ``progress`` is true unless
        ``args.quiet`` is.
    """
    get = vars(args).get
    opts = {
        "time_limit": get("time_limit") or _DEFAULTS["time_limit"],
        "mip_gap": _DEFAULTS["mip_gap"] if get("gap") is None else get("gap"),
        "solver": get("solver") or "auto",
        "floor_township": get("floor_township"),
        "floor_cause": get("floor_cause"),
        "pledges_file": get("pledges"),
        "funds_file": get("funds"),
        "deadline": get("deadline"),
        "as_of": get("as_of"),
        "on_expiry": get("on_expiry") or "refund",
        "bundle_size": get("bundle_size") or 5,
        "bundle_by": get("bundle_by") or "township",
        "bundle_cause": get("bundle_cause") or "main",
        "mix_causes": bool(get("mix_causes")),
        "bundle_crowdfund": bool(get("bundle_crowdfund")),
        "criteria_file": get("criteria"),
        "progress": not get("quiet", False),
    }
    return opts


def read_toml(path: str | Path) -> dict:
    """Read a TOML file; an unreadable one raises :class:`InputError`."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
