"""The county overview in a real browser: loads, filters, escapes."""

from __future__ import annotations

from zfb import analysis
from zfb.dashboards import load_county

from .conftest import HOSTILE, choose, interact, open_dashboard


def card(page, label: str) -> str:
    """The value of the headline card whose label is ``label``."""
    return (
        page.locator(".zfb-headline .zfb-card", has_text=label)
        .locator(".v")
        .inner_text()
        .strip()
    )


def test_overview_filters_change_the_numbers_and_escape_text(
    store_server, store_url, tab, shots
):
    county = load_county(db=store_url)
    hh = county.households
    page = tab.page
    open_dashboard(page, store_server.url("overview.ipynb"))
    assert card(page, "户数 households") == f"{len(hh):,}"
    page.screenshot(path=shots / "overview.png", full_page=True)

    # the hostile township's name shows as text, never as markup
    assert HOSTILE in page.locator(".zfb-townships").inner_text()
    assert page.locator("img[src='x']").count() == 0

    # township filter: the hostile township
    select = page.locator(".zfb-township select")
    interact(page, lambda: choose(select, HOSTILE))
    mine = hh[hh["township"] == HOSTILE]
    assert card(page, "户数 households") == f"{len(mine):,}"
    assert card(page, "人数 people") == f"{int(mine['size'].sum()):,}"
    expected = analysis.summary(
        mine,
        matches=county.matches[
            county.matches["household_id"].isin(mine["household_id"])
        ],
    )
    assert card(page, "已对接户 matched households") == (
        f"{expected['matched_households']:,}"
    )

    # cause filter on top of it: households listing the first one's main cause
    code = mine["causes"].iloc[0].split(";")[0].split(".")[0]
    tax = county.taxonomy
    select = page.locator(".zfb-cause select")
    interact(
        page, lambda: choose(select, f"{tax.name(code, 'zh')} {tax.name(code, 'en')}")
    )
    primaries = (
        mine["causes"].str.split(";").map(lambda cs: {c.split(".")[0] for c in cs})
    )
    kept = mine[primaries.map(lambda p: code in p)]
    assert 0 < len(kept) <= len(mine)
    assert card(page, "户数 households") == f"{len(kept):,}"
    towns = page.locator(".zfb-townships").inner_text()
    assert f"/ {len(kept):,} (" in towns
    assert page.locator("img[src='x']").count() == 0
    assert tab.dialogs == [] and tab.errors == []
    page.screenshot(path=shots / "overview-filtered.png", full_page=True)
