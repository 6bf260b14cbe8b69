"""Fixtures of the browser tests: Voila servers on free ports, and Chromium.

Each server is started here, on 127.0.0.1 with a token, by the same command
line as ``zfb serve`` (:func:`zfb.dashboards.serve.voila_command`), and
stopped when its tests are done. The browser is Debian's Chromium driven by
Python Playwright (never ``playwright install``); set ``ZFB_CHROMIUM`` to
use another binary. Screenshots go to ``ZFB_SCREENSHOTS`` when it is set,
else to the test's ``tmp_path``.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from zfb.dashboards.serve import (
    dashboard_env,
    dashboards_dir,
    free_port,
    stop,
    voila_command,
    wait_until_ready,
)

CHROMIUM = os.environ.get("ZFB_CHROMIUM", "/usr/bin/chromium")
#: Flags that make Debian's Chromium run headless in a container.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: The township name of the hostile test county: markup that must show as text.
HOSTILE = "<img src=x onerror=alert(1)>"
TOKEN = "browser-test-token-0123456789"


@dataclass
class Server:
    """A running Voila server of the dashboards."""

    base: str
    token: str
    process: subprocess.Popen
    log: Path

    def url(self, notebook: str) -> str:
        """Address of a dashboard, token included."""
        return f"{self.base}voila/render/{notebook}?token={self.token}"


def start_server(tmp: Path, *, data=None, db=None, attempts: int = 3) -> Server:
    """Start Voila on a free port; retry when another process took the port
    between choosing it and binding it (Voila fails instead of moving)."""
    folder = dashboards_dir()
    for attempt in range(attempts):
        port = free_port()
        log = tmp / f"voila-{port}.log"
        with open(log, "wb") as sink:
            process = subprocess.Popen(
                voila_command(folder, port=port),
                cwd=folder,
                env=dashboard_env(data=data, db=db, token=TOKEN),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{port}/"
        try:
            wait_until_ready(base, process, timeout=90)
        except Exception:
            stop(process)
            if attempt == attempts - 1:
                raise RuntimeError(
                    f"voila did not start; its log:\n{log.read_text(errors='replace')}"
                ) from None
            continue
        return Server(base, TOKEN, process, log)
    raise AssertionError("unreachable")


def hostile_county(n_households: int = 240, n_projects: int = 12, seed: int = 7):
    """A small synthetic county whose first township is named :data:`HOSTILE`
    and whose project titles hold markup, with its single-mode matches."""
    import zfb
    from zfb.matching import MatchGapWarning

    county = zfb.generate_county(n_households, n_projects, seed=seed)
    hh, pr = county.households.copy(), county.projects.copy()
    first = hh["township"].iloc[0]
    hh["township"] = hh["township"].where(hh["township"] != first, HOSTILE)
    hh["village"] = hh["village"].str.replace(first, "X", regex=False)
    pr["townships"] = pr["townships"].str.replace(first, HOSTILE, regex=False)
    pr["title"] = pr["title"] + ' <b onmouseover="alert(2)">!</b>'
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchGapWarning)
        result = zfb.match_single(hh, pr, time_limit=5)
    return hh, pr, result.matches


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    """Folder of the screenshots."""
    folder = os.environ.get("ZFB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def store_url(tmp_path_factory) -> str:
    """A SQLite store holding the hostile county and its matches."""
    from zfb.store import import_households, import_projects, open_store
    from zfb.store.records import save_matches

    hh, pr, matches = hostile_county()
    path = tmp_path_factory.mktemp("store") / "county.sqlite"
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        import_households(store, hh, actor="test")
        import_projects(store, pr, actor="test")
        save_matches(store, matches, actor="test")
    return url


@pytest.fixture(scope="session")
def store_server(browser, tmp_path_factory, store_url):
    """Voila serving the dashboards on the store of :func:`store_url` (after
    the browser, so that a machine without one skips before starting it)."""
    server = start_server(tmp_path_factory.mktemp("voila-store"), db=store_url)
    yield server
    stop(server.process)


@pytest.fixture(scope="session")
def big_server(browser, tmp_path_factory):
    """Voila serving the dashboards on a 46,000-household county (folder mode,
    with baseline greedy matches so the match figures are not empty)."""
    import zfb
    from zfb.synth import write_county

    folder = tmp_path_factory.mktemp("county46k")
    county = zfb.generate_county(46000, seed=46)
    write_county(county, folder)
    result = zfb.match_single(county.households, county.projects, solver="greedy")
    result.matches.to_csv(folder / "matches.csv", index=False)
    server = start_server(tmp_path_factory.mktemp("voila-46k"), data=folder)
    yield server
    stop(server.process)


def fontconfig(folder: Path) -> Path:
    """A fontconfig file: the system's fonts plus Noto Sans SC from the
    ``pylopdf-fonts-zh-cn`` package, so that Chinese text is drawn in the
    screenshots of a machine without CJK fonts (instead of empty boxes)."""
    import pylopdf_fonts_zh_cn

    fonts = Path(pylopdf_fonts_zh_cn.sans_path()).parent
    path = folder / "fonts.conf"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        "<fontconfig>"
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{fonts}</dir><cachedir>{folder / 'cache'}</cachedir>"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Chromium, shared by the browser tests."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    env = dict(os.environ)
    env["FONTCONFIG_FILE"] = str(fontconfig(tmp_path_factory.mktemp("fonts")))
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS, env=env
        )
        yield browser
        browser.close()


@dataclass
class Tab:
    """A page and what it has said: dialogs opened and page errors."""

    page: object
    dialogs: list
    errors: list


def _tab(browser, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    tab = Tab(page, [], [])

    def on_dialog(dialog):
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    return context, tab


@pytest.fixture
def tab(browser):
    """A fresh desktop-sized page (1280x1000)."""
    context, tab = _tab(browser, 1280, 1000)
    yield tab
    context.close()


@pytest.fixture
def phone(browser):
    """A fresh phone-sized page (390x844)."""
    context, tab = _tab(browser, 390, 844)
    yield tab
    context.close()


def wait_text_changed(page, selector: str, before: str) -> None:
    """Wait until the first element matching ``selector`` reads otherwise."""
    page.wait_for_function(
        "([s, b]) => { const e = document.querySelector(s);"
        " return e !== null && e.innerText !== b; }",
        arg=[selector, before],
    )


def interact(page, action, selector: str = ".zfb-status") -> float:
    """Run ``action()`` and wait until the dashboard's status line changes,
    which it does last in every update; return the seconds it took."""
    before = page.locator(selector).first.inner_text()
    start = time.perf_counter()
    action()
    wait_text_changed(page, selector, before)
    return time.perf_counter() - start


def choose(select, label: str) -> None:
    """Pick the option of a widget's ``<select>`` whose label is ``label``
    (ipywidgets writes the spaces of a label as no-break spaces)."""
    texts = [t.replace("\xa0", " ") for t in select.locator("option").all_inner_texts()]
    select.select_option(index=texts.index(label))


def open_dashboard(page, url: str, ready: str = ".zfb-status span") -> float:
    """Go to a dashboard and wait for its first update; return the seconds
    from the request to the first rendered update."""
    start = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.locator(ready).first.wait_for()
    return time.perf_counter() - start
