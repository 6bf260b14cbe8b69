"""Eligibility: the vectorised join against a double loop, and its rules."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zfb
from zfb.matching import covers, eligible_edges, to_networkx

from .test_matching_cases import instance, naive_edges


def _households(**cols):
    n = len(cols["causes"])
    base = {
        "household_id": [f"H{i}" for i in range(n)],
        "township": ["泼机镇"] * n,
        "village": pd.array([pd.NA] * n, dtype="str"),
        "size": np.full(n, 4, dtype=np.int64),
        "income_per_capita": np.full(n, 2000.0),
        "need_kind": pd.array([pd.NA] * n, dtype="str"),
        "need_amount": np.full(n, np.nan),
    }
    base.update(cols)
    return pd.DataFrame(base)


def _projects(**cols):
    n = len(cols["tags"])
    base = {
        "project_id": [f"P{i}" for i in range(n)],
        "funder": ["示例基金会"] * n,
        "budget": np.full(n, 1e6),
        "capacity": np.full(n, 10, dtype=np.int64),
        "townships": ["*"] * n,
        "per_household_cap": np.full(n, np.nan),
        "modes": ["single"] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


@given(
    seed=st.integers(0, 2**32 - 1),
    n_h=st.integers(1, 25),
    n_p=st.integers(1, 8),
)
@settings(max_examples=60, deadline=None)
def test_edges_equal_a_double_loop(seed, n_h, n_p):
    households, projects = instance(seed, n_h, n_p, binding=False)
    got = eligible_edges(households, projects)
    want = naive_edges(households, projects)
    key = ["household_id", "project_id"]
    got = got.astype({"household_id": str, "project_id": str}).set_index(key)
    want = want.set_index(key)
    assert sorted(got.index) == sorted(want.index)
    got = got.loc[want.index]
    for col in ("amount", "relevance", "priority", "score"):
        np.testing.assert_allclose(
            got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12,
            err_msg=col,
        )  # fmt: skip
    assert (got["match"].astype(str) == want["match"]).all()
    assert (got["matched_on"].astype(str) == want["matched_on"]).all()
    assert (got["severity"].to_numpy() == want["severity"].to_numpy()).all()


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=20, deadline=None)
def test_edges_are_sorted_one_per_pair(seed):
    households, projects = instance(seed, 30, 6, binding=False)
    edges = eligible_edges(households, projects)
    h = pd.Index(households["household_id"]).get_indexer(edges["household_id"])
    p = pd.Index(projects["project_id"]).get_indexer(edges["project_id"])
    pair = h * len(projects) + p
    assert (np.diff(pair) > 0).all()
    assert list(edges.index) == list(range(len(edges)))


@pytest.mark.parametrize(
    ("tag", "cause", "expected"),
    [
        ("ILL", "ILL.UREMIA", True),  # a primary tag covers its secondaries
        ("ILL", "ILL", True),  # ... and the primary itself
        ("ILL.UREMIA", "ILL.UREMIA", True),  # exact secondary
        ("ILL.UREMIA", "ILL", False),  # a secondary tag needs the secondary
        ("ILL.UREMIA", "ILL.CANCER", False),  # a sibling is not covered
        ("EDU", "ILL.UREMIA", False),  # another category
    ],
)
def test_covers(tag, cause, expected):
    assert covers(tag, cause) is expected


def test_match_kinds_and_best_relevance_wins():
    households = _households(
        causes=["ILL.UREMIA;EDU.COLLEGE", "ILL", "EDU.PRIMARY"],
        need_kind=pd.array(["tuition", pd.NA, pd.NA], dtype="str"),
    )
    projects = _projects(tags=["EDU;ILL.UREMIA", "ILL.UREMIA", "tuition"])
    edges = eligible_edges(households, projects).astype(
        {"household_id": str, "project_id": str, "match": str, "matched_on": str}
    )
    got = {
        (r.household_id, r.project_id): (r.match, r.matched_on)
        for r in edges.itertuples()
    }
    assert got == {
        # exact on the uremia beats primary on the college costs
        ("H0", "P0"): ("exact", "ILL.UREMIA"),
        ("H0", "P1"): ("exact", "ILL.UREMIA"),
        ("H0", "P2"): ("need_kind", "tuition"),
        # H1 lists the primary only: the secondary tag of P1 does not cover it,
        # and its need kind, implied by ILL, is medical costs, not tuition
        # H2's need kind is implied by its main cause: tuition
        ("H2", "P0"): ("primary", "EDU.PRIMARY"),
        ("H2", "P2"): ("need_kind", "tuition"),
    }


def test_township_and_mode_rules():
    households = _households(
        causes=["ILL", "ILL", "ILL"], township=["泼机镇", "黑树镇", "母享镇"]
    )
    projects = _projects(
        tags=["ILL", "ILL", "ILL", "ILL"],
        townships=["泼机镇;黑树镇", "*", "母享镇", "母享镇"],
        modes=["single", "crowdfunding;single", "bundle", pd.NA],
    )
    edges = eligible_edges(households, projects)
    got = set(
        zip(
            edges["household_id"].astype(str),
            edges["project_id"].astype(str),
            strict=True,
        )
    )
    assert got == {
        ("H0", "P0"), ("H1", "P0"),  # listed townships
        ("H0", "P1"), ("H1", "P1"), ("H2", "P1"),  # "*" covers all
        ("H2", "P3"),  # modes missing means single; P2 is bundle only
    }  # fmt: skip


def test_missing_columns_and_unknown_codes_are_errors():
    households = _households(causes=["ILL"])
    projects = _projects(tags=["ILL"])
    with pytest.raises(zfb.ValidationError, match="tags"):
        eligible_edges(households, projects.drop(columns="tags"))
    with pytest.raises(zfb.ValidationError, match="NOT.A_CAUSE"):
        eligible_edges(_households(causes=["ILL;NOT.A_CAUSE"]), projects)
    with pytest.raises(zfb.ValidationError, match="no_such_need"):
        eligible_edges(households, _projects(tags=["no_such_need"]))
    bad_need = _households(causes=["ILL"], need_kind=pd.array(["ILL"], dtype="str"))
    with pytest.raises(zfb.ValidationError, match="need-kind"):
        eligible_edges(bad_need, projects)


def test_no_edges_gives_an_empty_table_with_the_columns():
    edges = eligible_edges(_households(causes=["ILL"]), _projects(tags=["EDU"]))
    assert len(edges) == 0
    assert list(edges.columns[:6]) == [
        "household_id", "project_id", "amount", "relevance", "priority", "score",
    ]  # fmt: skip


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=15, deadline=None)
def test_to_networkx_is_the_bipartite_graph(seed):
    households, projects = instance(seed, 20, 5, binding=False)
    edges = eligible_edges(households, projects)
    g = to_networkx(edges, households, projects)
    assert g.number_of_nodes() == len(households) + len(projects)
    assert g.number_of_edges() == len(edges)
    top = {n for n, d in g.nodes(data=True) if d["bipartite"] == 0}
    assert top == set(households["household_id"])
    assert nx.is_bipartite(g)
    for row in edges.head(5).itertuples():
        data = g.edges[row.household_id, row.project_id]
        assert data["score"] == pytest.approx(row.score)
        assert data["amount"] == pytest.approx(row.amount)


def test_to_networkx_refuses_shared_ids():
    households = _households(causes=["ILL"], household_id=["X1"])
    projects = _projects(tags=["ILL"], project_id=["X1"])
    with pytest.raises(zfb.ValidationError, match="household id"):
        to_networkx(eligible_edges(households, projects))
