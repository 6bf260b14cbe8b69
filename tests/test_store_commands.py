"""The store's commands (``zfb import``, ``zfb export``) and the readers
``zfb match --db`` and ``zfb report --db`` use."""

from __future__ import annotations

import argparse
import io
from contextlib import redirect_stderr, redirect_stdout

import pandas as pd
import pytest

from tests import test_store_support as support
from tests.test_store_support import write_county
from zfb.errors import ZfbError
from zfb.store import Role, open_store, set_match_status, view
from zfb.store.commands import (
    add_commands,
    load_households,
    load_projects,
    save_match_result,
)
from zfb.store.engine import ENV_URL

# fixtures
store_url = support.store_url


def run(argv: list[str]) -> tuple[int, str]:
    """Run a store command as ``zfb`` does: a ZfbError is exit status 2."""
    parser = argparse.ArgumentParser(prog="zfb")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            code = args.func(args)
        except ZfbError as exc:
            print(f"zfb {args.command}: error: {exc}")
            code = 2
    return code, out.getvalue()


def _zfb(argv: list[str]) -> tuple[int, str]:
    """Run any ``zfb`` command in this process; its status and output."""
    from zfb.cli import main

    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(argv)
    return code, out.getvalue()


@pytest.fixture
def county(tmp_path):
    return write_county(tmp_path / "county", 300, seed=51, n_projects=15)


def test_import_twice_then_export(store_url, county, tmp_path):
    households_csv, projects_csv = county
    code, text = run(["import", str(households_csv), "--db", store_url])
    assert code == 0 and "300 households inserted" in text
    code, text = run(["import", str(projects_csv), "--db", store_url])
    assert code == 0 and "15 projects inserted" in text
    code, text = run(["import", str(households_csv), "--db", store_url])
    assert code == 0 and "0 households inserted, 0 updated, 300 unchanged" in text

    out = tmp_path / "funder.xlsx"
    code, text = run(
        [
            "export",
            "households",
            "--out",
            str(out),
            "--db",
            store_url,
            "--role",
            "funder",
        ]
    )
    assert code == 0 and str(out) in text
    seen = pd.read_excel(out, dtype=str)
    assert len(seen) == 300
    assert not {"household_id", "village"} & set(seen.columns)


def test_the_environment_names_the_store(tmp_path, county, monkeypatch):
    monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'env.sqlite'}")
    code, _ = run(["import", str(county[1])])
    assert code == 0
    with open_store() as s:
        assert len(view(s, "projects", Role.administrator())) == 15


@pytest.mark.parametrize(
    "argv, words",
    [
        (["export", "households", "--out", "x.csv", "--role", "cadre"], "villages"),
        (
            [
                "export",
                "households",
                "--out",
                "x.csv",
                "--role",
                "funder",
                "--personal",
            ],
            "does not see personal data",
        ),
        (["export", "audit_log", "--out", "x.csv", "--role", "analyst"], "may not"),
        (["export", "households", "--out", "x.txt"], ".csv, .xlsx or .parquet"),
        (["import", "missing.csv"], "no such file"),
    ],
)
def test_bad_requests_exit_2_with_a_clear_message(argv, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = run(argv)
    assert code == 2
    assert words in text
    assert "Traceback" not in text


def test_a_bad_file_is_refused_with_every_problem(store_url, tmp_path, county):
    raw = pd.read_csv(county[0], dtype=str, keep_default_na=False)
    raw.loc[[3, 8], "size"] = "0"
    raw.to_csv(tmp_path / "bad.csv", index=False)
    code, text = run(["import", str(tmp_path / "bad.csv"), "--db", store_url])
    assert code == 2
    assert "row 5" in text and "row 10" in text
    with open_store(store_url) as s:
        assert view(s, "households", Role.administrator()).empty


def test_match_and_report_read_the_store(store_url, county):
    from zfb.io import read_households, read_projects
    from zfb.matching import match_single

    for path in county:
        assert run(["import", str(path), "--db", store_url])[0] == 0
    households, projects = load_households(store_url), load_projects(store_url)
    from_files_h = read_households(county[0]).sort_values("household_id")
    from_files_p = read_projects(county[1]).sort_values("project_id")
    pd.testing.assert_frame_equal(
        households, from_files_h.reset_index(drop=True), check_dtype=False
    )
    pd.testing.assert_frame_equal(
        projects[from_files_p.columns],
        from_files_p.reset_index(drop=True),
        check_dtype=False,
    )
    result = match_single(households, projects)
    assert len(result.matches) > 0

    # the run's matches become proposals; what people decided is kept
    first = save_match_result(store_url, result.matches, actor="match run")
    assert first["proposed"] == len(result.matches)
    again = save_match_result(store_url, result.matches, actor="match run")
    assert set(again.values()) == {0}
    with open_store(store_url) as s:
        stored = view(s, "matches", Role.administrator())
        accepted = stored.iloc[0]
        set_match_status(
            s, int(accepted["match_id"]), "accepted", version=1, actor="cadre"
        )
    fewer = result.matches.iloc[: len(result.matches) // 2]
    if accepted["household_id"] not in set(fewer["household_id"]):
        fewer = pd.concat(
            [
                fewer,
                result.matches[
                    result.matches["household_id"] == accepted["household_id"]
                ],
            ]
        )
    third = save_match_result(store_url, fewer, actor="match run")
    assert third["kept"] == 1
    assert third["withdrawn"] == len(result.matches) - len(fewer)
    with open_store(store_url) as s:
        now = view(s, "matches", Role.administrator()).set_index("match_id")
        history = view(s, "match_history", Role.administrator())
    assert now.loc[accepted["match_id"], "status"] == "accepted"
    assert (now["status"] == "withdrawn").sum() == third["withdrawn"]
    assert (history["status_to"] == "withdrawn").sum() == third["withdrawn"]


def test_the_zfb_command_runs_the_store_commands(store_url, county):
    from zfb import cli

    parser = cli.build_parser()
    names = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    if "import" not in names:
        pytest.skip("zfb.cli does not add the store's commands (add_commands) yet")
    assert cli.main(["import", str(county[1]), "--db", store_url]) == 0
    assert cli.main(["import", str(county[1]) + ".missing", "--db", store_url]) == 2


SURVEY_MAPPING = """
table = "households"
[columns]
household_id = { template = "S-{id}" }
township = "town"
size = "n"
income_per_capita = "income"
[codes.causes]
fallback = "FAM.OTHER"
[[codes.causes.rules]]
when = "ill == 1"
code = "ILL"
"""


def test_import_reads_a_survey_through_a_mapping(store_url, tmp_path):
    # regression: `zfb import` had no --mapping; it checked files by another path
    mapping = tmp_path / "survey.toml"
    mapping.write_text(SURVEY_MAPPING, encoding="utf-8")
    survey = tmp_path / "survey.csv"
    survey.write_text(
        "id,town,n,income,ill\n1,泼机镇,3,2000,1\n\n2,泼机镇,2,2500,0\n",
        encoding="utf-8",
    )
    argv = ["import", str(survey), "--mapping", str(mapping), "--db", store_url]
    code, text = run(argv)
    assert code == 0, text
    assert "2 households inserted" in text
    with open_store(store_url) as s:
        stored = view(s, "households", Role.administrator())
    assert sorted(stored["household_id"]) == ["S-1", "S-2"]

    # the survey's rows, blank lines counted, name the problems
    survey.write_text(
        "id,town,n,income,ill\n1,泼机镇,3,2000,1\n\n2,泼机镇,0,2500,0\n",
        encoding="utf-8",
    )
    code, text = run(argv)
    assert code == 2 and "row 4, column 'size'" in text


def test_import_reads_the_sheet_it_is_given(store_url, tmp_path, county):
    book = tmp_path / "county.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.read_csv(county[1], dtype=str).to_excel(
            writer, sheet_name="项目", index=False
        )
        pd.read_csv(county[0], dtype=str).to_excel(
            writer, sheet_name="贫困户", index=False
        )
    code, text = run(["import", str(book), "--sheet", "贫困户", "--db", store_url])
    assert code == 0, text
    assert "300 households inserted" in text
    code, text = run(["import", str(book), "--sheet", "9", "--db", store_url])
    assert code == 2 and "'项目', '贫困户'" in text


def test_a_match_run_keeps_what_the_store_holds(store_url, county, tmp_path):
    # an accepted match keeps its household and its project's room; a declined
    # pair is not proposed again
    for path in county:
        assert run(["import", str(path), "--db", store_url])[0] == 0
    out = tmp_path / "first"
    code, text = _zfb(["match", "--db", store_url, "--out", str(out), "-q"])
    assert code == 0, text
    with open_store(store_url) as s:
        stored = view(s, "matches", Role.administrator())
        accepted, declined = stored.iloc[0], stored.iloc[1]
        set_match_status(
            s, int(accepted["match_id"]), "accepted", version=1, actor="cadre"
        )
        set_match_status(
            s, int(declined["match_id"]), "declined", version=1, actor="funder"
        )
    again = tmp_path / "again"
    code, text = _zfb(["match", "--db", store_url, "--out", str(again), "-q"])
    assert code == 0, text
    assert "1 households hold an accepted, funded or delivered match" in text
    assert "1 declined pairs are not proposed again" in text
    matches = pd.read_csv(again / "matches.csv", dtype=str)
    assert accepted["household_id"] not in set(matches["household_id"])
    pairs = set(zip(matches["household_id"], matches["project_id"], strict=True))
    assert (declined["household_id"], declined["project_id"]) not in pairs
    use = pd.read_csv(again / "projects.csv", dtype={"project_id": str})
    use = use.set_index("project_id").loc[accepted["project_id"]]
    projects = load_projects(store_url).set_index("project_id")
    capacity = projects.loc[accepted["project_id"], "capacity"]
    assert use["capacity"] == capacity - 1
    assert use["budget"] == pytest.approx(
        projects.loc[accepted["project_id"], "budget"] - float(accepted["amount"])
    )
    with open_store(store_url) as s:
        now = view(s, "matches", Role.administrator()).set_index("match_id")
    assert now.loc[accepted["match_id"], "status"] == "accepted"
    assert now.loc[declined["match_id"], "status"] == "declined"


def test_crowdfunding_and_the_report_read_the_store(store_url, county, tmp_path):
    # pledges and matches kept in the store were left out without a word
    from zfb.store import add_pledge

    for path in county:
        assert _zfb(["import", str(path), "--db", store_url])[0] == 0
    households = load_households(store_url)
    first = households["household_id"].iloc[0]
    project = load_projects(store_url)["project_id"].iloc[0]
    with open_store(store_url) as s:
        add_pledge(s, funder="某捐赠人", amount=300.0, actor="t", household_id=first)
        add_pledge(s, funder="某捐赠人", amount=500.0, actor="t", project_id=project)
    out = tmp_path / "crowd"
    code, text = _zfb(
        ["match", "--db", store_url, "--mode", "crowdfunding", "--out", str(out)]
        + ["--as-of", "2016-06-01", "-q"]
    )
    assert code == 0, text
    assert "1 pledges to households (1 pledges to projects are not read here)" in text
    pledged = pd.read_csv(out / "pledges.csv", dtype=str)
    assert first in set(pledged["household_id"])

    single = tmp_path / "single"
    code, text = _zfb(["match", "--db", store_url, "--out", str(single), "-q"])
    assert code == 0, text
    assert "new proposals" in text and "{" not in text
    report = tmp_path / "r.html"
    code, text = _zfb(["report", "--db", store_url, "--out", str(report)])
    assert code == 0, text
    n = len(pd.read_csv(single / "matches.csv"))
    assert f"the store: {n} matches" in text


def test_a_store_without_projects_cannot_be_matched(store_url, county, tmp_path):
    assert _zfb(["import", str(county[0]), "--db", store_url])[0] == 0
    code, text = _zfb(["match", "--db", store_url, "--out", str(tmp_path / "o")])
    assert code == 2 and "the store holds no projects" in text


def test_an_export_with_personal_data_warns_on_standard_error(
    store_url, county, tmp_path
):
    from zfb.cli import main

    assert _zfb(["import", str(county[0]), "--db", store_url])[0] == 0
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            ["export", "households", "--db", store_url, "--personal"]
            + ["--out", str(tmp_path / "h.csv")]
        )
    assert code == 0
    assert "warning" not in out.getvalue()
    assert err.getvalue().startswith("zfb export: warning:")
