"""Benchmark of the county analyses on a county and on a million households.

For each size (46,000 and 1,000,000 households by default) a synthetic
county is generated (:func:`zfb.synth.generate_county`), then each analysis
is timed: deprivations and MPI by township, representativeness against
registry totals, verification flags, profile features, clustering (number
of clusters by silhouette), stability across three seeds (on a sample of
20,000), descriptions, illness and training-needs breakdowns, and the
targeting model (fitted on a sample of 20,000 households, predicting the
whole county). Each step prints its wall-clock time and the CPU time of
the process (which a busy machine does not inflate as much). Peak memory
is the process's maximum resident set size
(``getrusage``) after each step; ``--tracemalloc`` adds the peak of Python
and NumPy allocations within the step, at the cost of slower timings.
``--threads N`` limits BLAS and OpenMP to N threads (on a busy machine,
threads that wait on each other can cost more than they bring).

Run::

    python benchmarks/bench_analyses.py [--households 46000 1000000] [--seed 0]
        [--threads 1] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from zfb.errors import ZfbWarning
from zfb.illness import illness_breakdown, training_needs
from zfb.mpi import deprivations_from_households, mpi
from zfb.profiles import (
    PovertyProfiles,
    describe_profiles,
    profile_features,
    profile_stability,
)
from zfb.representativeness import representativeness, sample_counts
from zfb.synth import generate_county
from zfb.targeting import PovertyTargeting
from zfb.verification import verification_flags

# registered households per sampled one in the 2016 pilot (73,804 / 45,972)
_REGISTRY_RATIO = 73804 / 45972
_SAMPLE = 20_000


def _maxrss_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _step(name: str, fn: Callable[[], Any], trace: bool, rows: list) -> Any:
    if trace:
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = None
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    rows.append((name, seconds, cpu, peak, _maxrss_mib()))
    traced = f"{peak:9.0f}" if peak is not None else "        -"
    print(
        f"  {name:<30} {seconds:8.2f} s {cpu:8.2f} s {traced} MiB "
        f"{rows[-1][4]:9.0f} MiB"
    )
    return out


def _registry(households: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Registry totals: the sample scaled to the pilot's coverage, with noise."""
    counts = sample_counts(households)
    factor = _REGISTRY_RATIO * rng.lognormal(0.0, 0.05, len(counts))
    return (counts * factor).round().astype("int64")


def run(n: int, seed: int, trace: bool) -> list:
    rows: list = []
    rng = np.random.default_rng(seed)
    print(f"\n{n:,} households")
    print(f"  {'step':<30} {'wall':>10} {'CPU':>10} {'traced':>13} {'max RSS':>13}")
    county = _step(
        "generate county", lambda: generate_county(n, seed=seed), trace, rows
    )
    hh = county.households

    # multidimensional poverty
    dep = _step("deprivations", lambda: deprivations_from_households(hh), trace, rows)
    _step(
        "mpi by township",
        lambda: mpi(dep, k=1 / 3, by=hh["township"], missing="drop"),
        trace,
        rows,
    )

    # representativeness and verification
    registry = _registry(hh, rng)
    _step("representativeness", lambda: representativeness(registry, hh), trace, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZfbWarning)
        _step("verification flags", lambda: verification_flags(hh), trace, rows)

    # profiles
    features = _step("profile features", lambda: profile_features(hh), trace, rows)
    model = _step(
        "profiles (auto k)",
        lambda: PovertyProfiles(random_state=seed).fit(features),
        trace,
        rows,
    )
    sample = features.sample(min(_SAMPLE, n), random_state=seed)
    _step(
        "stability (3 seeds, 20k)",
        lambda: profile_stability(
            PovertyProfiles(n_clusters=model.n_clusters_), sample, seeds=(0, 1, 2)
        ),
        trace,
        rows,
    )
    _step(
        "describe profiles",
        lambda: describe_profiles(features, model.labels_),
        trace,
        rows,
    )

    # illness and training needs
    _step("illness by township", lambda: illness_breakdown(hh), trace, rows)
    _step("training needs by township", lambda: training_needs(hh), trace, rows)

    # targeting: status from observable traits (income left out)
    traits = features.drop(columns=["log_income"])
    fit_rows = rng.choice(n, min(_SAMPLE, n), replace=False)

    def targeting():
        model = PovertyTargeting(random_state=seed).fit(
            traits.iloc[fit_rows], hh["status"].iloc[fit_rows]
        )
        return model.poor_proba(traits, poor=("poor",))

    _step("targeting (fit 20k, score all)", targeting, trace, rows)
    wall = sum(r[1] for r in rows[1:])
    cpu = sum(r[2] for r in rows[1:])
    print(f"  {'analyses, total':<30} {wall:8.2f} s {cpu:8.2f} s")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--households", type=int, nargs="+", default=[46_000, 1_000_000]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        for n in args.households:
            run(n, args.seed, args.tracemalloc)
    print(f"\npeak resident memory of the process: {_maxrss_mib() / 1024:.2f} GiB")


if __name__ == "__main__":
    main()
