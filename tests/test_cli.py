"""Tests of the ``zfb`` command line, run as a user runs it."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from zfb.cli import main

from .conftest import SAMPLE, make_id_number

COMMANDS = ["causes", "validate", "match", "report", "generate", "demo"]


def run(*args: str, env: dict | None = None, cwd: Path | None = None):
    """Run the installed ``zfb`` console script in a subprocess."""
    exe = Path(sys.executable).with_name("zfb")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def test_help_of_every_command():
    top = run("--help")
    assert top.returncode == 0
    for name in COMMANDS:
        assert name in top.stdout
        sub = run(name, "--help")
        assert sub.returncode == 0, sub.stderr
        assert "usage: zfb " + name in sub.stdout


def test_causes_prints_the_taxonomy_as_csv():
    res = run("causes")
    assert res.returncode == 0
    table = pd.read_csv(io.StringIO(res.stdout))
    assert list(table.columns) == ["code", "level", "parent", "name_zh", "name_en"]
    assert (table["level"] == 1).sum() == 8
    assert (table["level"] == 2).sum() >= 100
    assert "ILL.UREMIA" in set(table["code"])


def test_validate_bad_file_lists_every_problem_without_traceback(tmp_path):
    bad = tmp_path / "hh.csv"
    bad.write_text(
        "household_id,township,size,income_per_capita,causes\n"
        "a,泼机镇,0,100,因病\n"
        "b,泼机镇,2,abc,糖尿\n",
        encoding="utf-8",
    )
    res = run("validate", str(bad))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "3 problem(s)" in res.stderr
    assert f"{bad}, row 2, column 'size'" in res.stderr
    assert "row 3, column 'income_per_capita'" in res.stderr
    assert "ILL.DIABETES" in res.stderr  # the suggestion for 糖尿


def test_unreadable_file_exit_2(tmp_path):
    res = run("validate", str(tmp_path / "nope.csv"))
    assert res.returncode == 2
    assert "no such file" in res.stderr and "Traceback" not in res.stderr


def test_id_numbers_without_key_exit_2(tmp_path):
    path = tmp_path / "hh.csv"
    number = make_id_number("530627", "19800101", "123")
    path.write_text(
        f"身份证号,乡镇,人口数,人均收入,致贫原因\n{number},泼机镇,3,2000,因病\n",
        encoding="utf-8",
    )
    env = {"ZFB_SECRET": "", "ZFB_CONFIG": str(tmp_path / "none.toml")}
    res = run("validate", str(path), env=env)
    assert res.returncode == 2
    assert "ZFB_SECRET" in res.stderr
    assert number not in res.stderr + res.stdout
    ok = run("validate", str(path), env={**env, "ZFB_SECRET": "k" * 20})
    assert ok.returncode == 0, ok.stderr
    assert "1 households" in ok.stdout


@pytest.fixture(scope="module")
def sample():
    if not (SAMPLE / "households.csv").is_file():
        pytest.fail("data/sample/households.csv is missing: run `zfb generate`")
    return SAMPLE


def test_validate_sample(sample):
    for name, word in (("households.csv", "households"), ("projects.csv", "projects")):
        res = run("validate", str(sample / name))
        assert res.returncode == 0, res.stderr
        assert "OK, " in res.stdout and word in res.stdout


def test_match_writes_the_four_tables(sample, tmp_path):
    out = tmp_path / "out"
    res = run(
        "match",
        "--households",
        str(sample / "households.csv"),
        "--projects",
        str(sample / "projects.csv"),
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert "total score" in res.stdout
    matches = pd.read_csv(out / "matches.csv")
    unmatched = pd.read_csv(out / "unmatched.csv")
    projects = pd.read_csv(out / "projects.csv")
    edges = pd.read_csv(out / "edges.csv")
    households = pd.read_csv(sample / "households.csv")
    assert list(matches.columns[:5]) == [
        "household_id",
        "project_id",
        "amount",
        "score",
        "explanation",
    ]
    assert len(matches) + len(unmatched) == len(households)
    assert matches["household_id"].is_unique
    assert set(matches["household_id"]).isdisjoint(unmatched["household_id"])
    pairs = set(zip(edges["household_id"], edges["project_id"], strict=True))
    assert all(
        p in pairs
        for p in zip(matches["household_id"], matches["project_id"], strict=True)
    )
    assert {"project_id", "capacity", "budget"} <= set(projects.columns)
    total = float(res.stdout.split("total score ")[1].split()[0])
    assert total == pytest.approx(matches["score"].sum(), rel=1e-6)


def test_match_on_bad_input_writes_nothing(sample, tmp_path):
    bad = tmp_path / "projects.csv"
    bad.write_text(
        "project_id,funder,tags,budget,capacity\nP1,f,nonsense,100,1\n", "utf-8"
    )
    out = tmp_path / "out"
    res = run(
        "match",
        "--households",
        str(sample / "households.csv"),
        "--projects",
        str(bad),
        "--out",
        str(out),
    )
    assert res.returncode == 2
    assert "nonsense" in res.stderr
    assert not out.exists()


def test_report_and_demo(sample, tmp_path):
    code = main(["demo", "--out", str(tmp_path / "demo"), "--quiet"])
    assert code == 0
    for name in ("matches.csv", "unmatched.csv", "projects.csv", "edges.csv"):
        assert (tmp_path / "demo" / name).is_file()
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower()
    households = pd.read_csv(sample / "households.csv")
    assert f"{len(households):,}" in html or str(len(households)) in html


def test_report_with_registry_totals(sample, tmp_path):
    counts = pd.read_csv(sample / "households.csv")["township"].value_counts()
    registry = tmp_path / "registry.csv"
    pd.DataFrame({"乡镇": counts.index, "户数": counts.to_numpy() * 2}).to_csv(
        registry, index=False
    )
    out = tmp_path / "report.html"
    households = str(sample / "households.csv")
    args = ["report", "--households", households, "--registry", str(registry)]
    assert main([*args, "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert 'id="representativeness"' in html
    assert html.count('data-col="registered"') == len(counts)


def test_generate_writes_a_valid_county(tmp_path):
    res = run(
        "generate",
        "--households",
        "300",
        "--projects",
        "12",
        "--seed",
        "5",
        "--out",
        str(tmp_path),
    )
    assert res.returncode == 0, res.stderr
    ok = run("validate", str(tmp_path / "households.csv"))
    assert ok.returncode == 0, ok.stderr
    assert "300 households" in ok.stdout


@pytest.mark.real
def test_real_surveys_through_the_commands(real_data, tmp_path):
    costa_rica = real_data / "costa_rica_poverty" / "cr_train_shared.csv"
    loans = real_data / "kiva" / "kiva_loans_sample_1000.csv"
    themes = real_data / "kiva" / "loan_themes_by_region_sample_99.csv"

    res = run("validate", str(costa_rica), "--mapping", "costa_rica")
    assert res.returncode == 0, res.stderr
    assert "households" in res.stdout
    res = run("validate", str(themes), "--mapping", "kiva_themes")
    assert res.returncode == 0, res.stderr
    assert "99 projects" in res.stdout

    out = tmp_path / "kiva"
    res = run(
        "match",
        "--households",
        str(loans),
        "--mapping",
        "kiva_loans",
        "--projects",
        str(themes),
        "--projects-mapping",
        "kiva_themes",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    matches = pd.read_csv(out / "matches.csv")
    unmatched = pd.read_csv(out / "unmatched.csv")
    assert len(matches) + len(unmatched) == 1000
    assert len(matches) > 0

    report = tmp_path / "kiva.html"
    res = run(
        "report",
        "--households",
        str(loans),
        "--mapping",
        "kiva_loans",
        "--matches",
        str(out / "matches.csv"),
        "--out",
        str(report),
    )
    assert res.returncode == 0, res.stderr
    html = report.read_text(encoding="utf-8")
    assert f"{len(matches):,}" in html

    # a survey mapping used for the wrong table is a clear error, not a traceback
    res = run(
        "validate", str(costa_rica), "--mapping", "costa_rica", "--kind", "projects"
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_match_from_the_store(sample, tmp_path):
    db = tmp_path / "county.sqlite"
    for name in ("households.csv", "projects.csv"):
        res = run("import", str(sample / name), "--db", str(db))
        assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    res = run("match", "--db", str(db), "--out", str(out), "-q")
    assert res.returncode == 0, res.stderr
    from_files = run(
        "match",
        "--households",
        str(sample / "households.csv"),
        "--projects",
        str(sample / "projects.csv"),
        "--out",
        str(tmp_path / "files"),
        "-q",
    )
    assert from_files.returncode == 0, from_files.stderr
    a = pd.read_csv(out / "matches.csv")
    b = pd.read_csv(tmp_path / "files" / "matches.csv")
    # the same problem: equal optima, up to the gap a time-limited solve leaves
    assert a["score"].sum() == pytest.approx(b["score"].sum(), rel=1e-2)
    assert a["household_id"].is_unique
    res = run(
        "report",
        "--db",
        str(db),
        "--matches",
        str(out / "matches.csv"),
        "--out",
        str(tmp_path / "r.html"),
    )
    assert res.returncode == 0, res.stderr


# input files a user meets
def _county_workbook(path: Path, sample: Path) -> Path:
    households = pd.read_csv(sample / "households.csv", dtype=str).head(40)
    projects = pd.read_csv(sample / "projects.csv", dtype=str)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        households.to_excel(writer, sheet_name="贫困户", index=False)
        projects.to_excel(writer, sheet_name="项目", index=False)
    return path


def test_a_workbook_of_several_sheets_warns_and_sheet_chooses(sample, tmp_path):
    book = _county_workbook(tmp_path / "county.xlsx", sample)
    res = run("validate", str(book))
    assert res.returncode == 0, res.stderr
    assert "40 households" in res.stdout
    assert "zfb validate: warning:" in res.stderr and "'项目'" in res.stderr
    assert "Traceback" not in res.stderr
    for sheet in ("项目", "1"):
        res = run("validate", str(book), "--sheet", sheet)
        assert res.returncode == 0, res.stderr
        assert "projects of" in res.stdout and "warning" not in res.stderr
    res = run("validate", str(book), "--sheet", "户表")
    assert res.returncode == 2
    assert "'贫困户', '项目'" in res.stderr and "Traceback" not in res.stderr


def test_match_and_report_read_their_own_sheets(sample, tmp_path, capsys):
    book = str(_county_workbook(tmp_path / "county.xlsx", sample))
    sheets = ["--sheet", "贫困户", "--projects-sheet", "项目"]
    out = tmp_path / "out"
    files = ["--households", book, "--projects", book]
    assert main(["match", *files, *sheets, "--out", str(out), "-q"]) == 0
    inputs = json.loads((out / "run.json").read_text(encoding="utf-8"))["inputs"]
    assert inputs["households"]["sheet"] == "贫困户"
    assert inputs["projects"]["sheet"] == "项目"
    report = tmp_path / "r.html"
    code = main(
        ["report", *files, *sheets, "--matches", str(out / "matches.csv")]
        + ["--out", str(report)]
    )
    assert code == 0, capsys.readouterr().err
    assert report.is_file() and "warning" not in capsys.readouterr().err


_OPENED: list[str] | None = None


def _count_opens(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], str | Path):
        _OPENED.append(os.fspath(args[0]))


@pytest.mark.parametrize("name", ["households.csv", "projects.csv"])
def test_validate_reads_the_file_once(sample, name, capsys):
    # regression: guessing the kind of table read the whole file a first time
    global _OPENED
    if not getattr(sys, "_zfb_test_open_hook", False):
        sys.addaudithook(_count_opens)  # hooks cannot be removed: add it once
        sys._zfb_test_open_hook = True
    path = str(sample / name)
    _OPENED = []
    try:
        assert main(["validate", path]) == 0
    finally:
        opened, _OPENED = _OPENED, None
    assert "OK" in capsys.readouterr().out
    assert opened.count(path) == 1


def _bad_matches(tmp_path: Path, sample: Path) -> Path:
    households = pd.read_csv(sample / "households.csv", dtype=str)
    first, second = households["household_id"].iloc[:2]
    path = tmp_path / "matches.csv"
    pd.DataFrame(
        {
            "household_id": [first, first, "NOBODY", second],
            "project_id": ["P0001", "P0002", "P0001", "P0001"],
            "amount": ["100", "200", "300", "nan"],
            "score": ["0.5", "0.4", "0.3", "inf"],
        }
    ).to_csv(path, index=False)
    return path


def test_report_checks_the_matches_file(sample, tmp_path):
    # regression: --matches was read as it was, bad numbers turned into NaN
    matches = _bad_matches(tmp_path, sample)
    report = tmp_path / "r.html"
    res = run(
        "report",
        "--households",
        str(sample / "households.csv"),
        "--projects",
        str(sample / "projects.csv"),
        "--matches",
        str(matches),
        "--out",
        str(report),
    )
    assert res.returncode == 2
    assert "4 problem(s)" in res.stderr and "Traceback" not in res.stderr
    for where in (
        "row 3, column 'household_id'",  # the household's second match
        "row 4, column 'household_id'",  # not in the households table
        "row 5, column 'amount'",
        "row 5, column 'score'",
    ):
        assert f"{matches}, {where}" in res.stderr
    assert not report.exists()


@pytest.mark.parametrize("command", ["validate", "import"])
def test_county_options_mean_the_same_to_every_command(command, tmp_path, capsys):
    # --causes and --townships are read by one helper for every command
    causes = tmp_path / "county_causes.csv"
    causes.write_text(
        "code,level,parent,name_zh,name_en,aliases,severity\n"
        "DST.SINKHOLE,2,DST,岩溶塌陷,karst collapse,地陷,2\n",
        encoding="utf-8",
    )
    towns = tmp_path / "towns.csv"
    towns.write_text("name\n泼机镇\n", encoding="utf-8")
    households = tmp_path / "hh.csv"
    households.write_text(
        "household_id,township,size,income_per_capita,causes\n"
        "a,泼机镇,3,2000,岩溶塌陷\nb,南台街道,2,2000,因病\n",
        encoding="utf-8",
    )
    extra = ["--db", str(tmp_path / "s.sqlite")] if command == "import" else []
    argv = [command, str(households), *extra, "--causes", str(causes)]
    assert main([*argv, "--townships", str(towns)]) == 2
    err = capsys.readouterr().err
    assert "'南台街道': not a township of the county" in err
    assert "岩溶塌陷" not in err  # the county's cause is known
    assert main(argv) == 0, capsys.readouterr().err


def test_gap_is_a_ratio_and_reaches_the_solver(sample, tmp_path):
    res = run("match", "--households", str(sample / "households.csv"),
              "--projects", str(sample / "projects.csv"), "--out",
              str(tmp_path / "o"), "--gap", "1.5")  # fmt: skip
    assert res.returncode == 2 and "must be at least 0 and below 1" in res.stderr
    res = run("match", "--households", str(sample / "households.csv"),
              "--projects", str(sample / "projects.csv"), "--out",
              str(tmp_path / "o"), "--gap", "0.01", "-q")  # fmt: skip
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert manifest["options"]["mip_gap"] == 0.01
    assert manifest["gap"] <= 0.01


def test_many_problems_are_counted_by_rule_and_written_whole(sample, tmp_path):
    # a matches file of another county gave one line per row (19,394 lines)
    raw = pd.read_csv(sample / "households.csv", dtype=str, keep_default_na=False)
    raw.loc[:79, "size"] = "x"
    raw.loc[80:89, "township"] = ""
    bad = tmp_path / "households.csv"
    raw.to_csv(bad, index=False)
    res = run("validate", str(bad))
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert "90 problem(s) found" in lines[0]
    listed = [line for line in lines if line.startswith(f"  {bad}, row ")]
    assert len(listed) == 50
    assert "... and 40 more, by rule:" in res.stderr
    assert "30 x size: must be a number" in res.stderr
    assert "10 x " in res.stderr and "--problems" in res.stderr
    out = tmp_path / "problems.csv"
    res = run("validate", str(bad), "--problems", str(out))
    assert res.returncode == 2 and f"every problem: {out}" in res.stderr
    every = pd.read_csv(out)
    assert every.columns.tolist() == ["file", "row", "column", "value", "rule"]
    assert len(every) == 90 and every["row"].min() == 2


def test_ctrl_c_stops_a_long_solve_promptly(sample, tmp_path):
    # HiGHS held Ctrl-C until its integer program ended, and zfb said exit 2
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-m", "zfb.cli", "match", "-q", "--gap", "0",
         "--households", str(sample / "households.csv"),
         "--projects", str(sample / "projects.csv"), "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(4)  # reading and the eligible pairs take about a second
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    waited = time.perf_counter() - sent
    if child.returncode == 0:
        pytest.skip("the solve ended before the signal; nothing to interrupt")
    assert child.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    # HiGHS checks often, though not inside its heuristics' own programs; the
    # exact solve of the sample takes 10 to 20 s, which Ctrl-C used to wait for
    assert waited < 8, f"Ctrl-C took {waited:.1f} s"
    assert not (out / "matches.csv").exists()
    assert not list(out.glob(".zfb-run-*")) if out.exists() else True


def test_a_closed_pipe_is_not_an_error():
    child = subprocess.Popen(
        [sys.executable, "-m", "zfb.cli", "causes"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    child.stdout.readline()
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err
