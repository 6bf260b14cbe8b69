"""Research exports: de-identified, generalised, k-anonymous."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import test_store_support as support
from tests.test_store_support import people_table
from zfb.errors import ConfigError
from zfb.store import Role, deidentify, import_file, research_export, view
from zfb.store.research import income_band

# fixtures
store_url = support.store_url
store = support.store


@st.composite
def households(draw):
    n = draw(st.integers(0, 120))
    towns = draw(st.lists(st.sampled_from("甲乙丙丁戊己"), min_size=1, max_size=4))
    rows = {
        "household_id": [f"H{i}" for i in range(n)],
        "township": draw(st.lists(st.sampled_from(towns), min_size=n, max_size=n)),
        "village": [f"村{i % 7}" for i in range(n)],
        "size": draw(st.lists(st.integers(1, 12), min_size=n, max_size=n)),
        "income_per_capita": draw(
            st.lists(st.floats(0, 20000, allow_nan=False), min_size=n, max_size=n)
        ),
        "causes": ["ILL"] * n,
        "need_amount": draw(
            st.lists(st.floats(0, 1e5, allow_nan=False), min_size=n, max_size=n)
        ),
    }
    if draw(st.booleans()):
        rows["age"] = draw(st.lists(st.integers(0, 99), min_size=n, max_size=n))
    return pd.DataFrame(rows)


def _bounds(label: str) -> tuple[float, float]:
    if label.endswith("+"):
        return float(label[:-1]), np.inf
    low, high = label.split("-")
    return float(low), float(high) + 1


@settings(max_examples=60, deadline=None)
@given(households(), st.integers(1, 8))
def test_every_group_kept_has_k_records_and_the_rest_is_counted(table, k):
    result = deidentify(table, k=k)
    out = result.table
    qis = list(result.quasi_identifiers)
    assert "age_band" in qis if "age" in table.columns else "age_band" not in qis
    assert not {"household_id", "village", "age", "size", "income_per_capita"} & set(
        out.columns
    )

    # the groups, counted here from the input's own values
    def key(row):
        size = str(row["size"]) if row["size"] < 6 else "6+"
        inc = row["income_per_capita"]
        edges = [0, 1000, 2000, 3000, 4000, 6000]
        band = max(e for e in edges if e <= inc)
        parts = [row["township"], size, band]
        if "age" in table.columns:
            parts.append(row["age"] // 10)
        return tuple(parts)

    keys = [key(r) for _, r in table.iterrows()]
    sizes = Counter(keys)
    kept = sum(1 for x in keys if sizes[x] >= k)
    assert len(out) == kept
    assert result.suppressed == len(table) - kept == result.records - len(out)
    assert result.classes == sum(1 for v in sizes.values() if v >= k)
    if len(out):
        assert out.groupby(qis, dropna=False).size().min() >= k
        assert (out["need_amount"] % 100 == 0).all()


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_an_income_lies_in_its_band(values):
    bands = income_band(pd.Series(values))
    for value, band in zip(values, bands, strict=True):
        low, high = _bounds(band)
        assert low <= value < high


def test_bad_settings_are_refused():
    table = pd.DataFrame(
        {"township": ["甲"], "size": [3], "income_per_capita": [100.0]}
    )
    with pytest.raises(ConfigError, match="k must be"):
        deidentify(table, k=0)
    with pytest.raises(ConfigError, match="not columns"):
        deidentify(table, quasi_identifiers=["village"])
    with pytest.raises(ConfigError, match="increase"):
        income_band(table["income_per_capita"], edges=[0, 2000, 1000])


def test_research_export_of_a_store(store, tmp_path, secret):
    raw = people_table(200, seed=41)
    raw.to_csv(tmp_path / "people.csv", index=False)
    import_file(store, tmp_path / "people.csv", actor="intake")
    result = research_export(store, tmp_path / "research.csv", k=3)
    written = pd.read_csv(result.path, dtype=str)
    assert len(written) == len(result.table) == result.records - result.suppressed
    assert result.records == 200 and result.k == 3
    assert set(written.columns) & {"household_id", "village", "name", "phone"} == set()
    sizes = written.groupby(list(result.quasi_identifiers)).size()
    assert sizes.min() >= 3
    log = view(store, "audit_log", Role.administrator())
    assert log["detail"].str.contains(f"{result.suppressed} suppressed").any()
    # the default is k = 5
    assert research_export(store).k == 5
