"""The matching, custom selection, intake and profiles dashboards in a browser."""

from __future__ import annotations

from zfb.dashboards import load_county

from .conftest import HOSTILE, choose, interact, open_dashboard
from .test_overview import card


def test_matching_accepts_a_recommended_household(store_server, tab, shots):
    page = tab.page
    open_dashboard(page, store_server.url("matching.ipynb"))
    select = page.locator(".zfb-project select")
    labels = [
        t.replace("\xa0", " ") for t in select.locator("option").all_inner_texts()
    ]
    for label in labels[1:]:  # the first project with a recommendation
        if page.locator(".zfb-pick select option").count():
            break
        interact(page, lambda label=label: choose(select, label))
    # options are labelled "1. ZX000032"
    pick = page.locator(".zfb-pick select").input_value().split(". ", 1)[1]
    assert pick in page.locator(".zfb-listing").inner_text()
    page.screenshot(path=shots / "matching.png", full_page=True)
    interact(page, lambda: page.locator(".zfb-accept").click())
    assert "accepted" in page.locator(".zfb-message").inner_text()
    assert pick in page.locator(".zfb-accepted").inner_text()
    assert "onmouseover" in page.locator(".zfb-info").inner_text()  # as text
    assert page.locator(".zfb-info b").count() == 0
    assert tab.dialogs == []
    page.screenshot(path=shots / "matching-accepted.png", full_page=True)


def test_custom_selection_runs_and_offers_the_excel_file(store_server, tab, shots):
    page = tab.page
    open_dashboard(page, store_server.url("custom.ipynb"))
    page.locator(".zfb-budget input").fill("30000")
    page.locator(".zfb-budget input").press("Enter")
    interact(page, lambda: page.locator(".zfb-run").click())
    result = page.locator(".zfb-result").inner_text()
    assert "ZX" in result
    link = page.locator("a.zfb-xlsx")
    assert link.get_attribute("download") == "custom-selection.xlsx"
    assert link.get_attribute("href").startswith("data:application/vnd.openxml")
    page.screenshot(path=shots / "custom.png", full_page=True)


def test_intake_on_a_phone_saves_a_household_the_overview_then_shows(
    store_server, store_url, phone, shots
):
    page = phone.page
    before = len(load_county(db=store_url).households)
    open_dashboard(page, store_server.url("intake.ipynb"))
    # nothing wider than the phone's screen
    width = page.evaluate("document.querySelector('.zfb-intake').scrollWidth")
    assert width <= 390
    errors = page.locator(".zfb-error-size")
    assert "required" in errors.inner_text()
    interact(page, lambda: page.locator(".zfb-in-size input").fill("abc"))
    assert "must be a number" in errors.inner_text()
    interact(page, lambda: page.locator(".zfb-in-size input").fill("3"))
    assert errors.inner_text().strip() == ""
    town = page.locator(".zfb-in-township select")
    interact(page, lambda: choose(town, HOSTILE))
    interact(page, lambda: page.locator(".zfb-in-income_per_capita input").fill("1800"))
    primary = page.locator(".zfb-in-primary select")
    interact(page, lambda: choose(primary, "就学负担 schooling costs"))
    secondary = page.locator(".zfb-in-secondary select")
    assert "大学就学负担" in " ".join(secondary.locator("option").all_inner_texts())
    interact(
        page, lambda: choose(secondary, "大学就学负担 university or college costs")
    )
    interact(page, lambda: page.locator(".zfb-in-name input").fill("李四"))
    hid = page.locator(".zfb-in-household_id input").input_value()
    page.screenshot(path=shots / "intake-phone.png", full_page=True)
    interact(page, lambda: page.locator(".zfb-save").click())
    saved = page.locator(".zfb-message").inner_text()
    assert hid in saved and "李*" in saved and "李四" not in saved
    page.screenshot(path=shots / "intake-saved.png", full_page=True)

    # the overview, opened afresh, counts it
    open_dashboard(page, store_server.url("overview.ipynb"))
    assert card(page, "户数 households") == f"{before + 1:,}"
    assert "李四" not in page.content()


def test_profiles_list_the_clusters_and_follow_the_township(store_server, tab, shots):
    page = tab.page
    open_dashboard(page, store_server.url("profiles.ipynb"))
    clusters = page.locator(".zfb-clusters")
    county = clusters.inner_text()
    assert "households)" in county
    select = page.locator(".zfb-township select")
    interact(page, lambda: choose(select, HOSTILE))
    assert clusters.inner_text() != county
    assert HOSTILE in clusters.inner_text()
    assert page.locator("img[src='x']").count() == 0
    page.screenshot(path=shots / "profiles.png", full_page=True)
