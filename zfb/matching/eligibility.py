"""Eligibility: which household may be matched to which project.

A household and a project form an *eligible pair* (an edge of the bipartite
eligibility graph) when all three of these hold:

- the project **serves** the household: one of the project's tags covers one
  of the household's causes or its need kind (:func:`covers`);
- the project **covers the township** of the household (``*`` covers all);
- the project **accepts the mode** ``single``.

The edges are built by joining long tables (one row per household and cause,
one row per project, tag and township) on integer keys, never by a loop over
all pairs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from .._causes import split_codes
from ..errors import Problem, ValidationError
from ..taxonomy import Taxonomy, load_taxonomy
from .scoring import MATCH_KINDS, ScoreWeights, poverty_gap, priority

__all__ = ["eligible_edges", "to_networkx", "covers"]

logger = logging.getLogger(__name__)

_HOUSEHOLD_COLUMNS = (
    "household_id",
    "township",
    "income_per_capita",
    "causes",
    "need_kind",
    "need_amount",
)
_PROJECT_COLUMNS = ("project_id", "tags", "budget", "capacity")

#: Columns of the public edges table, in order.
EDGE_COLUMNS = [
    "household_id",
    "project_id",
    "amount",
    "relevance",
    "priority",
    "score",
    "match",
    "matched_on",
    "tag",
    "poverty_gap",
    "severity",
    "capped",
]

# integer codes of the match kinds, best first
_EXACT, _NEED, _PRIMARY = range(3)


def covers(tag: str, cause: str) -> bool:
    """Whether a project tag covers a household's cause code.

    A primary tag (``ILL``) covers the primary itself and every secondary
    cause of it (``ILL.UREMIA``); a secondary tag (``ILL.UREMIA``) covers only
    that secondary cause, not a household recorded with the primary ``ILL``
    alone. A need-kind tag covers the equal need-kind code.

    Examples
    --------
    >>> covers("ILL", "ILL.UREMIA"), covers("ILL.UREMIA", "ILL")
    (True, False)
    """
    if "." in tag:
        return cause == tag
    return cause == tag or cause.split(".")[0] == tag


def accepts_single(modes: pd.Series) -> np.ndarray:
    """Whether each project accepts the mode ``single`` (NA means ``single``)."""
    text = ";" + modes.fillna("single").astype(str).str.replace(" ", "") + ";"
    return text.str.contains(";single;", regex=False).to_numpy()


@dataclass
class Eligibility:
    """Edges with internal positions, and what each household asks for.

    Attributes
    ----------
    edges : DataFrame
        The columns of :data:`EDGE_COLUMNS` plus ``h`` and ``p``, the
        positions of the household and project in their tables; sorted by
        ``h`` then ``p``.
    need_kind : ndarray of object, shape (n_households,)
        Need kind of each household: its ``need_kind``, else the first need
        kind of its main cause.
    need_implied : ndarray of bool, shape (n_households,)
        Whether ``need_kind`` came from the main cause.
    base_amount : ndarray of float, shape (n_households,)
        Amount asked before any project cap; NaN when unknown.
    township : ndarray of object, shape (n_households,)
    accepts_single : ndarray of bool, shape (n_projects,)
    """

    edges: pd.DataFrame
    need_kind: np.ndarray
    need_implied: np.ndarray
    base_amount: np.ndarray
    township: np.ndarray
    accepts_single: np.ndarray


def _require(df: pd.DataFrame, columns, table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValidationError(
            Problem(f"<{table}>", None, c, "", "required column is missing")
            for c in missing
        )


def _unknown(table, column, rows, values, rule) -> ValidationError:
    return ValidationError(
        Problem(f"<{table}>", int(r) + 2, column, str(v), rule)
        for r, v in zip(rows, values, strict=True)
    )


def _split_long(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``;``-joined codes into (row, position in the row, code) arrays
    (:func:`zfb._causes.split_codes`)."""
    long = split_codes(values)
    codes = long["code"].to_numpy(dtype=object)
    return long["row"].to_numpy(), long["pos"].to_numpy(), codes


def _join(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inner join on integer keys: positions (in left, in right) of every
    pair of equal keys, in the order of ``left``."""
    order = np.argsort(right, kind="stable")
    sorted_right = right[order]
    lo = np.searchsorted(sorted_right, left, side="left")
    count = np.searchsorted(sorted_right, left, side="right") - lo
    li = np.repeat(np.arange(len(left)), count)
    offset = np.arange(len(li)) - np.repeat(np.cumsum(count) - count, count)
    return li, order[np.repeat(lo, count) + offset]


def _labels(codes: np.ndarray, ids) -> pd.api.extensions.ExtensionArray:
    """``ids[codes]`` as a str array (a take on an index, fast for many rows)."""
    return pd.Index(ids, dtype="str").take(codes).array


def build_eligibility(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    taxonomy: Taxonomy,
    weights: ScoreWeights,
) -> Eligibility:
    """Build every eligible pair with its terms (the core of :func:`eligible_edges`).

    ``households`` and ``projects`` must have a RangeIndex; ``h`` and ``p`` in
    the result are row positions.
    """
    _require(households, _HOUSEHOLD_COLUMNS, "households")
    _require(projects, _PROJECT_COLUMNS, "projects")
    n_h, n_p = len(households), len(projects)
    causes_tab = taxonomy.causes
    vocab = pd.Index([*causes_tab.index, *taxonomy.need_kinds.index])
    n_cause = len(causes_tab)
    level = causes_tab["level"].to_numpy()
    parent = causes_tab["parent"].to_numpy(dtype=object)
    severity_of = causes_tab["severity"].to_numpy(dtype=np.int64)
    primary_of = np.where(
        level == 1,
        np.arange(n_cause),
        vocab.get_indexer(np.where(level == 1, "", parent)),
    )

    # households: one row per cause
    hh_row, hh_pos, hh_code = _split_long(households["causes"])
    hh_cid = vocab.get_indexer(hh_code)
    bad = (hh_cid < 0) | (hh_cid >= n_cause)
    if bad.any():
        raise _unknown(
            "households",
            "causes",
            hh_row[bad],
            hh_code[bad],
            "unknown cause code; run `zfb causes` to list the known codes",
        )
    hh_sev = severity_of[hh_cid]

    # need kind and amount of each household
    main_cid = hh_cid[hh_pos == 0]
    main_row = hh_row[hh_pos == 0]
    main_of = np.full(n_h, -1, dtype=np.int64)
    main_of[main_row] = main_cid
    if (main_of < 0).any():
        rows = np.flatnonzero(main_of < 0)
        raise _unknown(
            "households",
            "causes",
            rows,
            [""] * len(rows),
            "a household must list at least one cause",
        )
    first_need = np.array(
        [kinds[0] if kinds else None for kinds in causes_tab["need_kinds"]],
        dtype=object,
    )
    recorded = households["need_kind"]
    need_implied = recorded.isna().to_numpy()
    need_kind = np.where(
        need_implied, first_need[main_of], recorded.to_numpy(dtype=object)
    )
    has_need = pd.notna(need_kind)
    need_id = np.full(n_h, -1, dtype=np.int64)
    need_id[has_need] = vocab.get_indexer(need_kind[has_need].astype(str))
    bad = has_need & (need_id < n_cause)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise _unknown(
            "households", "need_kind", rows, need_kind[rows], "unknown need-kind code"
        )
    typical = np.append(taxonomy.need_kinds["typical_amount"].to_numpy(float), np.nan)
    typical_of = typical[np.where(has_need, need_id - n_cause, -1)]
    base_amount = households["need_amount"].to_numpy(dtype=float, na_value=np.nan)
    base_amount = np.where(np.isnan(base_amount), typical_of, base_amount)

    # severity of a need: the most severe of the household's causes it answers
    need_sev = severity_of[main_of]
    cause_need = [
        (c, vocab.get_loc(k))
        for c, kinds in enumerate(causes_tab["need_kinds"])
        for k in kinds
    ]
    if cause_need:
        cn = np.array(cause_need, dtype=np.int64)
        answers = pd.DataFrame({"cid": cn[:, 0], "nid": cn[:, 1]})
        long = pd.DataFrame({"h": hh_row, "cid": hh_cid, "sev": hh_sev})
        long = long.merge(answers, on="cid")
        long = long[long["nid"].to_numpy() == need_id[long["h"].to_numpy()]]
        best = long.groupby("h")["sev"].max()
        need_sev[best.index.to_numpy()] = best.to_numpy()

    # townships as integers
    town_code, town_names = pd.factorize(households["township"].astype(str))
    n_town = max(len(town_names), 1)

    # projects: one row per tag and township covered
    single = accepts_single(
        projects["modes"] if "modes" in projects else pd.Series([None] * n_p)
    )
    pj_row, _, pj_tag = _split_long(projects["tags"])
    pj_tid = vocab.get_indexer(pj_tag)
    if (pj_tid < 0).any():
        bad = pj_tid < 0
        raise _unknown(
            "projects",
            "tags",
            pj_row[bad],
            pj_tag[bad],
            "unknown tag: a tag must be a cause code or a need-kind code",
        )
    keep = single[pj_row]
    pj_row, pj_tid = pj_row[keep], pj_tid[keep]
    pj_kind = np.where(
        pj_tid >= n_cause,
        _NEED,
        np.where(level[np.minimum(pj_tid, n_cause - 1)] == 1, _PRIMARY, _EXACT),
    )
    towns = projects["townships"] if "townships" in projects else pd.Series(["*"] * n_p)
    tw_row, _, tw_name = _split_long(towns.fillna("*"))
    star = tw_name == "*"
    named = pd.Index(town_names).get_indexer(tw_name[~star])
    cov_p = np.concatenate(
        [np.repeat(tw_row[star], len(town_names)), tw_row[~star][named >= 0]]
    )
    cov_t = np.concatenate(
        [np.tile(np.arange(len(town_names)), star.sum()), named[named >= 0]]
    )
    cover = pd.DataFrame({"p": cov_p, "town": cov_t}).drop_duplicates()
    tags = pd.DataFrame({"p": pj_row, "tid": pj_tid, "kind": pj_kind})
    offers = tags.drop_duplicates(["p", "tid"]).merge(cover, on="p")
    offers["key"] = offers["tid"].to_numpy() * n_town + offers["town"].to_numpy()

    # join: exact, need kind, primary
    hh_town = town_code[hh_row]
    secondary = level[hh_cid] == 2
    needing = np.flatnonzero(has_need)
    sides = [
        # (kind, household rows, position, matched code, severity, key)
        (_EXACT, hh_row[secondary], hh_pos[secondary], hh_cid[secondary],
         hh_sev[secondary], hh_cid[secondary] * n_town + hh_town[secondary]),
        (_PRIMARY, hh_row, hh_pos, hh_cid, hh_sev,
         primary_of[hh_cid] * n_town + hh_town),
        (_NEED, needing, np.zeros(len(needing), dtype=np.int64), need_id[needing],
         need_sev[needing], need_id[needing] * n_town + town_code[needing]),
    ]  # fmt: skip
    offer_key = offers["key"].to_numpy()
    offer_kind = offers["kind"].to_numpy()
    offer_p = offers["p"].to_numpy()
    offer_tid = offers["tid"].to_numpy()
    parts = []
    for kind, rows, pos, on, sev, key in sides:
        mine = np.flatnonzero(offer_kind == kind)
        li, ri = _join(key, offer_key[mine])
        ri = mine[ri]
        parts.append(
            (rows[li], offer_p[ri], np.full(len(li), kind), pos[li], sev[li],
             on[li], offer_tid[ri])
        )  # fmt: skip
    h, p, kind, pos, sev, on, tid = (
        np.concatenate(c) for c in zip(*parts, strict=True)
    )

    # one row per pair: best relevance, then most severe, then main cause
    rel_of = np.array([weights.relevance(k) for k in MATCH_KINDS])
    rel = rel_of[kind]
    pair = h * max(n_p, 1) + p
    order = np.lexsort((kind, pos, -sev, -rel, pair))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair[order][1:] != pair[order][:-1]
    pick = order[first]
    h, p, kind, rel, sev = h[pick], p[pick], kind[pick], rel[pick], sev[pick]
    on, tid = on[pick], tid[pick]

    # amounts, terms and score
    amount = base_amount[h]
    known = ~np.isnan(amount)
    if not known.all():
        logger.info(
            "%d eligible pairs dropped: the household's amount is unknown",
            int((~known).sum()),
        )
        h, p, kind, rel, sev, on, tid, amount = (
            a[known] for a in (h, p, kind, rel, sev, on, tid, amount)
        )
    cap = projects["per_household_cap"] if "per_household_cap" in projects else None
    cap = (
        np.full(n_p, np.nan)
        if cap is None
        else cap.to_numpy(dtype=float, na_value=np.nan)
    )
    paid = np.fmin(amount, cap[p])
    gap = poverty_gap(
        households["income_per_capita"].to_numpy(dtype=float), weights.poverty_line
    )
    prio = priority(gap[h], sev, weights)
    codes = vocab.to_numpy(dtype=object)
    edges = pd.DataFrame(
        {
            "h": h,
            "p": p,
            "household_id": _labels(h, households["household_id"]),
            "project_id": _labels(p, projects["project_id"]),
            "amount": paid,
            "relevance": rel,
            "priority": prio,
            "score": rel * prio,
            "match": _labels(kind, MATCH_KINDS),
            "matched_on": _labels(on, codes),
            "tag": _labels(tid, codes),
            "poverty_gap": gap[h],
            "severity": sev,
            "capped": paid < amount,
        }
    )
    logger.debug(
        "%d eligible pairs for %d households, %d projects", len(edges), n_h, n_p
    )
    return Eligibility(
        edges=edges,
        need_kind=need_kind,
        need_implied=need_implied,
        base_amount=base_amount,
        township=households["township"].to_numpy(dtype=object),
        accepts_single=single,
    )


def eligible_edges(
    households: pd.DataFrame,
    projects: pd.DataFrame,
    taxonomy: Taxonomy | None = None,
    *,
    weights: ScoreWeights | None = None,
) -> pd.DataFrame:
    """Every eligible household-project pair of mode ``single``, with its score.

    A household and a project are paired when the project accepts mode
    ``single``, covers the household's township (``*`` covers every
    township) and one of its tags covers one of the household's causes or its
    need kind (see :func:`covers`). The need kind of a household is its
    ``need_kind``, or when that is missing the first need kind of its main
    cause in the taxonomy. When several tags or causes match, the best
    relevance wins, then the most severe cause, then the earliest cause.

    Parameters
    ----------
    households : DataFrame
        Canonical households table (``docs/data-model.md``), validated.
    projects : DataFrame
        Canonical projects table, validated. ``townships`` defaults to ``*``
        and ``modes`` to ``single`` when the column is absent.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.
    weights : ScoreWeights, optional
        Default ``ScoreWeights()``.

    Returns
    -------
    DataFrame
        One row per eligible pair, sorted by household then project (in the
        order of the input tables), RangeIndex. Columns:

        - ``household_id``, ``project_id`` (str);
        - ``amount`` (float, CNY): the household's ``need_amount``, else the
          ``typical_amount`` of its need kind, capped by the project's
          ``per_household_cap``;
        - ``relevance``, ``priority``, ``score`` (float), see
          :mod:`zfb.matching.scoring`;
        - ``match`` (str): ``exact``, ``need_kind`` or ``primary``;
        - ``matched_on`` (str): the household's cause or need-kind code;
        - ``tag`` (str): the project's tag that matched;
        - ``poverty_gap`` (float, 0 to 1), ``severity`` (int, 1 to 3);
        - ``capped`` (bool): whether the project's cap lowered the amount.

        A household with no eligible project has no row.

    Raises
    ------
    ValidationError
        If a required column is missing, or a cause, need-kind or tag code
        is not in the taxonomy.

    Notes
    -----
    A household whose amount is unknown (no ``need_amount`` and a need kind
    without a typical amount) has no edge. The number of edges is at most
    the number of households times the number of projects; on a county of
    46,000 households and 500 projects it is typically a few hundred
    thousand.
    """
    taxonomy = load_taxonomy() if taxonomy is None else taxonomy
    weights = ScoreWeights() if weights is None else weights
    elig = build_eligibility(
        households.reset_index(drop=True),
        projects.reset_index(drop=True),
        taxonomy,
        weights,
    )
    return elig.edges[EDGE_COLUMNS]


def to_networkx(
    edges: pd.DataFrame,
    households: pd.DataFrame | None = None,
    projects: pd.DataFrame | None = None,
) -> nx.Graph:
    """The bipartite eligibility graph, for inspection.

    Parameters
    ----------
    edges : DataFrame
        As returned by :func:`eligible_edges` (or ``MatchResult.edges``).
    households, projects : DataFrame, optional
        When given, their households and projects without any edge are added
        as isolated nodes.

    Returns
    -------
    networkx.Graph
        Nodes are household ids (attribute ``bipartite=0``) and project ids
        (``bipartite=1``); each edge carries ``score``, ``amount``,
        ``relevance`` and ``match``.

    Raises
    ------
    ValidationError
        If a project id equals a household id (the two nodes would merge).
    """
    hh = set(edges["household_id"])
    pj = set(edges["project_id"])
    if households is not None:
        hh.update(households["household_id"])
    if projects is not None:
        pj.update(projects["project_id"])
    both = sorted(hh & pj)
    if both:
        raise ValidationError(
            Problem(
                "<projects>",
                None,
                "project_id",
                str(v),
                "equals a household id; rename the project",
            )
            for v in both[:20]
        )
    graph = nx.Graph()
    graph.add_nodes_from(hh, bipartite=0)
    graph.add_nodes_from(pj, bipartite=1)
    attrs = [c for c in ("score", "amount", "relevance", "match") if c in edges]
    graph.add_edges_from(
        (u, v, dict(zip(attrs, vals, strict=True)))
        for u, v, *vals in edges[["household_id", "project_id", *attrs]].itertuples(
            index=False
        )
    )
    return graph
