"""The result files of a run: written as a set, with run.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import zfb.output
from zfb.errors import InputError
from zfb.output import MANIFEST, file_digest, read_manifest, write_run

from .conftest import SAMPLE


def _tables(tag: str, names=("matches.csv", "unmatched.csv", "edges.csv")):
    return {
        name: pd.DataFrame({"household_id": [f"{tag}-{k}" for k in range(3)]})
        for name in names
    }


def _check_consistent(out):
    """Every file run.json names is there with its digest; no staging left."""
    manifest = read_manifest(out)
    assert manifest is not None
    for name, entry in manifest["files"].items():
        assert file_digest(out / name) == entry["sha256"], name
    assert not list(out.glob(".zfb-run-*"))
    return manifest


def test_a_run_writes_its_tables_and_a_manifest(tmp_path):
    out = tmp_path / "out"
    paths = write_run(_tables("a"), out, about={"command": "match", "gap": 0.5})
    assert [p.name for p in paths] == [
        "matches.csv",
        "unmatched.csv",
        "edges.csv",
        MANIFEST,
    ]
    manifest = _check_consistent(out)
    assert manifest["command"] == "match" and manifest["gap"] == 0.5
    assert manifest["files"]["edges.csv"]["rows"] == 3
    assert pd.read_csv(out / "matches.csv")["household_id"].tolist() == [
        "a-0",
        "a-1",
        "a-2",
    ]


def test_a_later_run_removes_the_files_of_the_earlier_one_it_did_not_write(
    tmp_path,
):
    out = tmp_path / "out"
    write_run(_tables("a", ("matches.csv", "progress.csv", "pledges.csv")), out)
    (out / "notes.txt").write_text("the user's own file")
    write_run(_tables("b", ("matches.csv", "edges.csv")), out)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "edges.csv",
        "matches.csv",
        "notes.txt",
        MANIFEST,
    ]
    assert (out / "notes.txt").read_text() == "the user's own file"
    _check_consistent(out)


def test_a_failed_write_leaves_the_previous_run_whole(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_run(_tables("a"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    calls = []
    real = zfb.output.write_table

    def fail_on_third(df, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(df, path)

    monkeypatch.setattr(zfb.output, "write_table", fail_on_third)
    with pytest.raises(OSError, match="No space"):
        write_run(_tables("b"), out)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    _check_consistent(out)


def test_a_failed_swap_puts_the_previous_files_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_run(_tables("a"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    real = os.replace
    moved = []

    def fail_on_the_second_file_in(src, dst):
        if str(dst).startswith(str(out)) and ".zfb-run-" not in str(dst):
            moved.append(dst)
            if len(moved) == 2:
                raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(zfb.output.os, "replace", fail_on_the_second_file_in)
    with pytest.raises(PermissionError):
        write_run(_tables("b"), out)
    monkeypatch.setattr(zfb.output.os, "replace", real)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    _check_consistent(out)


def test_out_must_be_a_folder_and_names_plain(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        write_run(_tables("a"), tmp_path / "file")
    (tmp_path / "out" / "edges.csv").mkdir(parents=True)
    with pytest.raises(InputError, match="edges.csv is a folder"):
        write_run(_tables("a"), tmp_path / "out")
    assert (tmp_path / "out" / "edges.csv").is_dir()
    with pytest.raises(ValueError, match="plain table file name"):
        write_run({"../x.csv": pd.DataFrame()}, tmp_path / "out")


def test_a_staging_folder_of_a_killed_run_is_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # a process that has ended: its id is free
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (out / f".zfb-run-{dead}-abcd").mkdir()
    (out / f".zfb-run-{os.getpid()}-live").mkdir()  # a live process: kept
    write_run(_tables("a"), out)
    assert not (out / f".zfb-run-{dead}-abcd").exists()
    assert (out / f".zfb-run-{os.getpid()}-live").exists()


def test_the_manifest_is_strict_json(tmp_path):
    out = tmp_path / "out"
    import datetime as dt

    import numpy as np

    write_run(
        _tables("a"),
        out,
        about={"gap": float("nan"), "n": np.int64(3), "x": np.float64(0.25),
               "day": dt.date(2016, 5, 4)},
    )  # fmt: skip
    manifest = json.loads((out / MANIFEST).read_text(), parse_constant=pytest.fail)
    assert manifest["gap"] is None and manifest["n"] == 3 and manifest["x"] == 0.25
    assert manifest["day"] == "2016-05-04"


def test_zfb_match_records_its_inputs_and_result(tmp_path):
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "zfb.cli", "match", "-q",
         "--households", str(SAMPLE / "households.csv"),
         "--projects", str(SAMPLE / "projects.csv"), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    manifest = _check_consistent(out)
    assert manifest["command"] == "match" and manifest["mode"] == "single"
    assert manifest["inputs"]["households"] == {
        "file": "households.csv",
        "sha256": file_digest(SAMPLE / "households.csv"),
    }
    assert set(manifest["files"]) == {
        "matches.csv",
        "unmatched.csv",
        "projects.csv",
        "edges.csv",
    }
    total = float(res.stdout.split("total score ")[1].split()[0])
    assert manifest["total_score"] == pytest.approx(total, abs=1e-4)
    assert manifest["time_limit_reached"] is False
    assert str(SAMPLE) not in (out / MANIFEST).read_text()  # names, not paths


@pytest.mark.slow
def test_zfb_match_stopped_by_sigterm_leaves_one_whole_run(tmp_path):
    # a first run, then a second one stopped at a random moment: the folder
    # holds the files of exactly one of the two runs, and nothing half-written
    from zfb.synth import generate_county, write_county

    write_county(generate_county(n_households=8000, n_projects=100, seed=1), tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "zfb.cli", "match", "-q",
           "--households", str(tmp_path / "households.csv"),
           "--projects", str(tmp_path / "projects.csv"), "--out", str(out)]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    run = read_manifest(out)["run"]
    for delay in (1.0, 3.0):
        child = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        time.sleep(delay)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=120)
        # 143: stopped by zfb; -15: stopped before zfb started (Python's own
        # handler); 0: it had finished
        assert child.returncode in (0, 143, -signal.SIGTERM), err
        if child.returncode == 143:
            assert "terminated" in err and "Traceback" not in err
        manifest = _check_consistent(out)
        assert child.returncode == 0 or manifest["run"] == run
        run = manifest["run"]


def test_runs_into_one_folder_at_once_leave_one_whole_set(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "out"
    names = [("matches.csv", "edges.csv"), ("matches.csv", "progress.csv")]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda k: write_run(_tables(f"r{k}", names[k % 2]), out), range(12)
            )
        )
    manifest = _check_consistent(out)
    tags = {pd.read_csv(out / n)["household_id"][0] for n in manifest["files"]}
    assert len(tags) == 1  # every file of the same run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*manifest["files"], MANIFEST]
    )


_KILLED_MID_SWAP = """
import os, signal, sys
import pandas as pd
import zfb.output as output

real = output.os.replace
moves = []

def replace(src, dst):
    moves.append(dst)
    if sys.argv[2] != "after" and len(moves) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)

def rmtree(path, ignore_errors=False):  # the kill comes after the swap
    os.kill(os.getpid(), signal.SIGKILL)

output.os.replace = replace
if sys.argv[2] == "after":
    output.shutil.rmtree = rmtree
tables = {n: pd.DataFrame({"household_id": ["new"]})
          for n in ("matches.csv", "edges.csv")}
output.write_run(tables, sys.argv[1])
"""


@pytest.mark.parametrize("kill_at", ["1", "3", "5", "6", "after"])
def test_a_run_killed_in_the_middle_of_its_swap_is_undone(tmp_path, kill_at):
    # moves 1-3 set the previous files aside, 4-6 move the new ones in (the
    # manifest last); whatever the kill interrupted, the next run finds one
    # whole set: the previous one, or the killed run's when it was complete
    out = tmp_path / "out"
    write_run(_tables("old", ("matches.csv", "unmatched.csv")), out)
    child = subprocess.run([sys.executable, "-c", _KILLED_MID_SWAP, str(out), kill_at])
    assert child.returncode == -signal.SIGKILL
    assert list(out.glob(".zfb-run-*"))  # left behind by the kill
    from zfb.output import _locked, _recover_abandoned

    with _locked(out):
        _recover_abandoned(out)
    manifest = _check_consistent(out)
    tags = {pd.read_csv(out / n)["household_id"][0] for n in manifest["files"]}
    if kill_at != "after":
        assert set(manifest["files"]) == {"matches.csv", "unmatched.csv"}
        assert tags == {"old-0"}
    else:  # killed after its manifest went in: the new set is whole
        assert set(manifest["files"]) == {"matches.csv", "edges.csv"}
        assert tags == {"new"}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*manifest["files"], MANIFEST]
    )
