"""Benchmark of single-mode matching on a county-sized instance.

Builds a synthetic county (46,000 households and 500 projects by default,
:func:`zfb.synth.generate_county`), writes it to CSV in a temporary folder,
then times each step: read, eligibility, solve, write. The solve time is
compared with bare OR-Tools min-cost flow on the same edges (arrays built and
solved, budgets ignored, nothing else) and with the greedy baseline, whose
distance to the solution and to the proven bound is printed. Peak memory is
the process's maximum resident set size (``getrusage``); ``--tracemalloc``
adds the peak of Python allocations, at the cost of slower timings. The CPU
time of the match is printed beside its wall-clock time, to read the figures
on a machine shared with other work.

Then the ``zfb match`` command itself runs twice on the same files, each in a
new process (start-up, reading, matching and writing every table, as a user
runs it): its wall-clock time and peak memory, its ratio to a reference run
in the same way (a new Python process that only reads the households file
with ``pandas.read_csv``), and whether the two runs wrote the same matches.

Run::

    python benchmarks/bench_match.py [--households 46000 --projects 500]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import zfb
from zfb.matching import match_single
from zfb.synth import generate_county


def _reader(kind: str):
    """``zfb.read_households`` / ``zfb.read_projects``, else pandas."""
    reader = getattr(zfb, f"read_{kind}", None)
    if reader is None:
        try:
            from zfb import io
        except ImportError:
            io = None
        reader = getattr(io, f"read_{kind}", None)
    return reader or pd.read_csv


def _bare_flow(h: np.ndarray, p: np.ndarray, score: np.ndarray, capacity) -> float:
    """Seconds for OR-Tools min-cost flow alone on the edges: build, solve."""
    from ortools.graph.python import min_cost_flow

    start = time.perf_counter()
    hh = np.unique(h, return_inverse=True)[1]
    n_h, n_p = int(hh.max()) + 1, len(capacity)
    sink = n_h + n_p
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([hh, n_h + np.arange(n_p), np.arange(n_h)]),
        np.concatenate([n_h + p, np.full(n_p + n_h, sink)]),
        np.concatenate([np.ones(len(h)), capacity, np.ones(n_h)]).astype(np.int64),
        np.concatenate(
            [-np.rint(score * 1e6).astype(np.int64), np.zeros(n_p + n_h, np.int64)]
        ),
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_h], supplies[sink] = 1, -n_h
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    if flow.solve() != flow.OPTIMAL:
        raise RuntimeError("bare min-cost flow did not solve")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=46_000)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument(
        "--no-command", action="store_true", help="skip the runs of `zfb match`"
    )
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start()
    options = {} if args.time_limit is None else {"time_limit": args.time_limit}

    # county, written to CSV
    clock = time.perf_counter()
    county = generate_county(
        n_households=args.households, n_projects=args.projects, seed=args.seed
    )
    t_build = time.perf_counter() - clock
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        county.households.to_csv(tmp / "households.csv", index=False)
        county.projects.to_csv(tmp / "projects.csv", index=False)

        # read
        clock = time.perf_counter()
        households = _reader("households")(tmp / "households.csv")
        projects = _reader("projects")(tmp / "projects.csv")
        t_read = time.perf_counter() - clock

        # match: eligibility and solve
        clock, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = match_single(households, projects, **options)
        t_match = time.perf_counter() - clock
        cpu_match = time.process_time() - cpu

        # write
        clock = time.perf_counter()
        result.matches.to_csv(tmp / "matches.csv", index=False)
        result.unmatched.to_csv(tmp / "unmatched.csv", index=False)
        result.projects.to_csv(tmp / "project_use.csv", index=False)
        t_write = time.perf_counter() - clock

        # the command, twice, and its reference
        command = None if args.no_command else _command_runs(tmp, args.time_limit)
    peak_py = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # baselines on the same edges
    edges = result.edges
    h = pd.Index(households["household_id"]).get_indexer(edges["household_id"])
    p = pd.Index(projects["project_id"]).get_indexer(edges["project_id"])
    capacity = projects["capacity"].to_numpy(dtype=np.int64)
    t_bare = _bare_flow(h, p, edges["score"].to_numpy(), capacity)
    clock = time.perf_counter()
    greedy = match_single(households, projects, solver="greedy")
    t_greedy = time.perf_counter() - clock

    # report
    t = result.timings
    solve = t["decompose"] + t["flow"] + t["mip"]
    print(
        f"county: {len(households):,} households, {len(projects):,} projects, "
        f"{len(edges):,} eligible pairs (generated in {t_build:.2f} s)"
    )
    print(
        f"solution: {result.solver}, {result.status}, "
        f"{len(result.matches):,} households matched, total score "
        f"{result.total_score:.4f}, bound {result.bound:.4f}, gap {result.gap:.2e}"
    )
    for w in caught:
        print(f"warning: {w.message}")
    print(f"read           {t_read:7.2f} s")
    print(f"eligibility    {t['eligibility']:7.2f} s")
    print(
        f"solve          {solve:7.2f} s  (decompose {t['decompose']:.2f}, "
        f"min-cost flow {t['flow']:.2f}, integer programs {t['mip']:.2f})"
    )
    print(f"result tables  {t['tables']:7.2f} s")
    print(f"write          {t_write:7.2f} s")
    print(
        f"match in all   {t_match:7.2f} s  (eligibility + solve + tables; "
        f"{cpu_match:.2f} s of CPU time)"
    )
    print(
        f"bare OR-Tools min-cost flow on the same edges, budgets ignored: "
        f"{t_bare:.2f} s; solve / bare = {solve / t_bare:.1f}"
    )
    below = 1 - greedy.total_score / result.total_score
    below_bound = 1 - greedy.total_score / result.bound
    print(
        f"greedy         {greedy.timings['greedy']:7.2f} s  (whole call "
        f"{t_greedy:.2f} s), score {greedy.total_score:.4f}: {below:.2%} below "
        f"the solution, {below_bound:.2%} below the bound"
    )
    print(f"peak memory    {peak_rss:7.0f} MiB resident (getrusage)")
    if peak_py is not None:
        print(f"               {peak_py / 2**20:7.0f} MiB of Python allocations")
    if command is not None:
        runs, t_ref, same = command
        for k, (wall, rss) in enumerate(runs, 1):
            print(
                f"zfb match, run {k} {wall:6.2f} s  wall, peak {rss:.0f} MiB resident; "
                f"/ reference = {wall / t_ref:.1f}"
            )
        print(
            f"reference      {t_ref:7.2f} s  (a new Python process reading "
            "households.csv with pandas.read_csv)"
        )
        print(f"the two runs wrote {'the same' if same else 'DIFFERENT'} matches.csv")


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock seconds and peak resident MiB of a command in a new process."""
    clock = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - clock
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {child.returncode}")
    return wall, usage.ru_maxrss / 1024


def _command_runs(tmp: Path, time_limit: float | None):
    """Run ``zfb match`` twice and the read_csv reference once."""
    cmd = [sys.executable, "-m", "zfb.cli", "match", "-q"]
    cmd += ["--households", str(tmp / "households.csv")]
    cmd += ["--projects", str(tmp / "projects.csv")]
    if time_limit is not None:
        cmd += ["--time-limit", str(time_limit)]
    runs = [_run([*cmd, "--out", str(tmp / f"run{k}")]) for k in (1, 2)]
    ref = f"import pandas; pandas.read_csv({str(tmp / 'households.csv')!r})"
    t_ref, _ = _run([sys.executable, "-c", ref])
    same = (tmp / "run1" / "matches.csv").read_bytes() == (
        tmp / "run2" / "matches.csv"
    ).read_bytes()
    return runs, t_ref, same


if __name__ == "__main__":
    main()
