"""Benchmark of every matching mode on a county-sized instance.

Builds the synthetic county (46,000 households and its projects by default),
then runs each mode with its exact solver and with the greedy baseline, and
prints one table: seconds, total score, proven bound, optimality gap, and how
far greedy falls below the bound. A second table times the recommendations:
a full build against an update of one household and of one project, beside a
full re-solve of single mode.

Run::

    python benchmarks/bench_modes.py [--households 46000 --seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings

import zfb
from zfb.matching.bundles import make_bundles, match_bundles
from zfb.matching.crowdfunding import crowdfund
from zfb.matching.custom import select_custom
from zfb.matching.fairness import Floors
from zfb.matching.recommend import Recommender

CRITERIA = {
    "title": "助学与医疗 school and medical aid",
    "causes": ["EDU", "ILL"],
    "traits": ["child_in_school"],
    "income_ceiling": 3000,
    "households": 300,
    "budget": 1_000_000,
}


def _timed(fn):
    clock = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zfb.ZfbWarning)
        out = fn()
    return out, time.perf_counter() - clock


def _row(name, exact, t_exact, greedy, t_greedy):
    bound = exact.bound
    below = (bound - greedy.total_score) / bound if bound else float("nan")
    return (
        f"| {name:<26} | {exact.solver:<16} | {t_exact:7.2f} "
        f"| {exact.total_score:10.2f} | {bound:10.2f} | {exact.gap:8.2e} "
        f"| {t_greedy:7.2f} | {greedy.total_score:10.2f} | {below:7.2%} |"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=46_000)
    parser.add_argument("--projects", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    county = zfb.generate_county(
        n_households=args.households, n_projects=args.projects, seed=args.seed
    )
    hh, pj = county.households, county.projects
    limit = args.time_limit
    modes = pj["modes"].str.split(";").explode().value_counts().to_dict()
    print(
        f"county: {len(hh):,} households, {len(pj):,} projects (modes {modes}), "
        f"seed {args.seed}, time limit {limit:g} s\n"
    )
    print(
        "| mode                       | solver           |  time s |      score "
        "|      bound |      gap | greedy s |     greedy | greedy below bound |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = []

    single, t1 = _timed(lambda: zfb.match_single(hh, pj, time_limit=limit))
    greedy, t2 = _timed(lambda: zfb.match_single(hh, pj, solver="greedy"))
    rows.append(_row("single", single, t1, greedy, t2))
    print(rows[-1], flush=True)

    crowd, t1 = _timed(lambda: crowdfund(hh, pj, time_limit=limit))
    greedy, t2 = _timed(lambda: crowdfund(hh, pj, solver="greedy"))
    rows.append(_row("crowdfunding", crowd, t1, greedy, t2))
    print(rows[-1], flush=True)

    floors = Floors(township=20_000.0)
    fair, t1 = _timed(lambda: crowdfund(hh, pj, floors=floors, time_limit=limit))
    greedy, t2 = _timed(lambda: crowdfund(hh, pj, floors=floors, solver="greedy"))
    rows.append(_row("crowdfunding, floor 20k/tw", fair, t1, greedy, t2))
    print(rows[-1], flush=True)

    bundles, t0 = _timed(lambda: make_bundles(hh, 5))
    bund, t1 = _timed(lambda: match_bundles(hh, pj, bundles, time_limit=limit))
    greedy, t2 = _timed(lambda: match_bundles(hh, pj, bundles, solver="greedy"))
    rows.append(_row("bundle (5 per bundle)", bund, t1 + t0, greedy, t2 + t0))
    print(rows[-1], flush=True)

    custom, t1 = _timed(lambda: select_custom(hh, CRITERIA, time_limit=limit))
    greedy, t2 = _timed(lambda: select_custom(hh, CRITERIA, solver="greedy"))
    rows.append(_row("custom (300 hh, 1M CNY)", custom, t1, greedy, t2))
    print(rows[-1], flush=True)

    # fairness, before and after
    g0, g1 = fair.fairness.gini["township"]
    short = fair.fairness.table
    print(
        f"\nfloor 20,000 CNY per township (crowdfunding): Gini of funded share "
        f"{g0:.3f} -> {g1:.3f}; townships below target "
        f"{int((short['before'] < short['target'] - 0.5).sum())} -> "
        f"{int((short['shortfall'] > 0.5).sum())}; score cost "
        f"{(crowd.total_score - fair.total_score) / crowd.total_score:.2%}"
    )

    # recommendations
    rec, t_build = _timed(lambda: Recommender(hh, pj, k=5))
    full_edges = rec.stats.edges
    one = hh.iloc[[123]].assign(income_per_capita=100.0)
    s_h, t_h = _timed(lambda: rec.update_households(one))
    p_row = pj[pj["modes"].str.contains("single")].iloc[[7]]
    p_row = p_row.assign(budget=p_row["budget"] * 2)
    s_p, t_p = _timed(lambda: rec.update_projects(p_row))
    print("\n| recommendations (k=5) | seconds | pairs recomputed | lists recomputed |")
    print("|---|---:|---:|---:|")
    print(f"| full build | {t_build:.2f} | {full_edges:,} | {len(hh) + len(pj):,} |")
    print(
        f"| update one household | {t_h:.2f} | {s_h.edges:,} | "
        f"{s_h.household_lists + s_h.project_lists:,} |"
    )
    print(
        f"| update one project | {t_p:.2f} | {s_p.edges:,} | "
        f"{s_p.household_lists + s_p.project_lists:,} |"
    )
    t_solve = single.timings
    total = sum(t_solve.values())
    print(
        f"| full re-solve (single mode) | {total:.2f} | {len(single.edges):,} | all |"
    )


if __name__ == "__main__":
    main()
