"""The overview dashboard and the HTML pieces, without a browser."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfb import analysis, generate_county
from zfb.dashboards import CountyData
from zfb.dashboards.overview import ALL, OverviewApp
from zfb.dashboards.render import bar_chart, cards, esc, mask_name, message, table
from zfb.matching import MatchGapWarning, match_single
from zfb.taxonomy import load_taxonomy

HOSTILE = "<img src=x onerror=alert(1)>"
TAX = load_taxonomy()


def card_value(html: str, label: str) -> str:
    """The value of the headline card labelled ``label``, as text."""
    found = re.search(
        r'<div class="v">([^<]*)</div><div class="k">' + re.escape(esc(label)), html
    )
    assert found, f"no card {label!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def county() -> CountyData:
    made = generate_county(300, 10, seed=11)
    hh, pr = made.households.copy(), made.projects.copy()
    first = hh["township"].iloc[0]
    hh["township"] = hh["township"].where(hh["township"] != first, HOSTILE)
    pr["townships"] = pr["townships"].str.replace(first, HOSTILE, regex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchGapWarning)
        matches = match_single(hh, pr, time_limit=5).matches
    return CountyData(hh, pr, matches, "test county", taxonomy=TAX)


def test_headline_is_the_summary_of_the_filtered_households(county):
    app = OverviewApp(county)
    hh = county.households
    assert card_value(app.headline.value, "户数 households") == f"{len(hh):,}"
    town = hh["township"].iloc[-1]
    app.township.value = town
    mine = hh[hh["township"] == town]
    numbers = analysis.summary(
        mine,
        matches=county.matches[
            county.matches["household_id"].isin(mine["household_id"])
        ],
    )
    html = app.headline.value
    assert card_value(html, "户数 households") == f"{len(mine):,}"
    assert card_value(html, "人数 people") == f"{numbers['people']:,}"
    assert card_value(html, "已对接户 matched households") == (
        f"{numbers['matched_households']:,}"
    )
    assert (
        card_value(html, "需求总额 total need") == f"{numbers['total_need']:,.0f} CNY"
    )


def test_cause_filter_keeps_households_listing_the_cause(county):
    app = OverviewApp(county)
    app.cause.value = "EDU"
    hh = county.households
    listing = (
        hh["causes"].str.split(";").map(lambda cs: any(c.startswith("EDU") for c in cs))
    )
    assert (
        card_value(app.headline.value, "户数 households") == f"{int(listing.sum()):,}"
    )
    # every household kept lists EDU, so its share is 100 %
    assert "100.0% (" in app.shares.value.split("</tr>")[0]
    app.cause.value = ALL
    assert card_value(app.headline.value, "户数 households") == f"{len(hh):,}"


def test_every_filter_change_redraws_once(county):
    app = OverviewApp(county)
    assert app.updates == 1
    app.township.value = county.households["township"].iloc[-1]
    app.cause.value = "ILL"
    assert app.updates == 3
    assert "#3" in app.status.value


def test_hostile_township_is_escaped_everywhere(county):
    app = OverviewApp(county)
    app.township.value = HOSTILE
    for part in (app.headline, app.shares, app.illness, app.skills, app.townships):
        assert "<img" not in part.value
    assert esc(HOSTILE) in app.townships.value
    # the dropdown shows the name as an option label (text, not markup)
    assert (HOSTILE, HOSTILE) in [tuple(o) for o in app.township.options]


def test_without_matches_the_match_cards_are_absent():
    made = generate_county(50, 2, seed=5)
    empty = made.households.iloc[:0][["household_id"]].assign(
        project_id=pd.Series(dtype="str"), amount=pd.Series(dtype=float)
    )
    app = OverviewApp(CountyData(made.households, made.projects, empty, "x"))
    assert "matched households" not in app.headline.value
    assert "no matches recorded" in app.townships.value


def test_representativeness_shows_when_a_registry_is_given(county):
    app = OverviewApp(county)
    assert "zfb serve --registry" in app.sample.value
    counts = county.households["township"].value_counts()
    with_registry = CountyData(
        county.households,
        county.projects,
        county.matches,
        "x",
        taxonomy=TAX,
        registry=(counts * 10).rename("registered"),
    )
    html = OverviewApp(with_registry).sample.value
    assert card_value(html, "覆盖率 coverage") == "10.0%"
    assert esc(HOSTILE) in html and "<img" not in html


def test_illness_and_training_charts_follow_the_filters(county):
    app = OverviewApp(county)
    hh = county.households
    town = hh["township"].iloc[-1]
    app.township.value = town
    mine = hh[hh["township"] == town]
    ill = analysis.cause_shares(mine, level="secondary", taxonomy=TAX)
    ill = ill[ill["cause"].str.startswith("ILL.")]
    for name, n in zip(ill["name_zh"], ill["households"], strict=True):
        assert esc(name) in app.illness.value
        assert f"({n:,})" in app.illness.value


# the HTML pieces
@given(st.text())
def test_esc_leaves_no_markup(text):
    out = esc(text)
    assert "<" not in out and ">" not in out and '"' not in out
    assert (
        out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
        == text
    )


def test_esc_of_missing_values_is_empty():
    assert esc(None) == esc(float("nan")) == esc(pd.NA) == ""


@given(st.text(min_size=1).filter(lambda s: s.strip()))
def test_mask_name_keeps_only_the_first_character(name):
    out = mask_name(name)
    text = name.strip()
    assert len(out) == len(text)
    if len(text) == 1:
        assert out == "*"
    else:
        assert out[0] == text[0] and set(out[1:]) == {"*"}


def test_mask_name_of_nothing_is_empty():
    assert mask_name(None) == mask_name("") == mask_name("  ") == ""


def test_pieces_escape_labels_values_and_cells():
    assert "<script>" not in cards([("<script>", "<b>1</b>")])
    chart = bar_chart(["<i>x</i>"], [2.0], ["<u>2</u>"], title="<h1>t</h1>")
    assert "<i>" not in chart and "<u>" not in chart and "<h1>t" not in chart
    html = table(pd.DataFrame({"a": ["<svg onload=alert(1)>"]}), {"a": "<th>"})
    assert "<svg" not in html and "&lt;svg" in html
    assert "<em>" not in message("<em>hi</em>")


def test_bar_widths_stay_within_the_chart():
    chart = bar_chart(["a", "b"], [5.0, 20.0], vmax=10.0)
    widths = [float(w) for w in re.findall(r'style="width:([\d.]+)%', chart)]
    assert widths == [50.0, 100.0]


def test_table_says_how_many_rows_it_left_out():
    html = table(pd.DataFrame({"a": range(5)}), max_rows=2)
    assert html.count("<tr>") == 3  # header and two rows
    assert "3 more rows" in html
