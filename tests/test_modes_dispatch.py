"""The dispatcher and its command-line options."""

from __future__ import annotations

import argparse
import warnings

import pytest

import zfb
from zfb.errors import ConfigError
from zfb.matching.modes import MODES, add_mode_arguments, options_from_args, run_mode

COUNTY = zfb.generate_county(n_households=400, n_projects=40, seed=21)


@pytest.mark.parametrize(
    ("mode", "files"),
    [
        ("single", {"matches.csv", "unmatched.csv", "projects.csv", "edges.csv"}),
        (
            "crowdfunding",
            {
                "matches.csv",
                "unmatched.csv",
                "projects.csv",
                "progress.csv",
                "pledges.csv",
            },
        ),
        (
            "bundle",
            {
                "bundles.csv",
                "members.csv",
                "matches.csv",
                "unmatched.csv",
                "projects.csv",
            },
        ),
        (
            "custom",
            {"matches.csv", "unmatched.csv", "projects.csv"},
        ),  # the custom projects
    ],
)
def test_every_mode_runs_and_names_its_tables(mode, files):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zfb.ZfbWarning)
        out = run_mode(
            mode,
            COUNTY.households,
            COUNTY.projects,
            options={"as_of": "2016-06-01", "progress": False},
        )
    assert out.mode == mode and set(out.tables) == files
    assert out.total_score <= out.bound + 1e-9 and out.lines
    assert out.status in ("optimal", "feasible")


def test_the_parser_options_become_run_options(tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("-q", "--quiet", action="store_true")
    add_mode_arguments(parser)
    args = parser.parse_args(
        [
            "--mode",
            "bundle",
            "--bundle-size",
            "3",
            "--mix-causes",
            "--floor-township",
            "1000",
            "--deadline",
            "2016-07-01",
            "-q",
        ]
    )
    opts = options_from_args(args)
    assert (
        opts["bundle_size"] == 3
        and opts["mix_causes"]
        and opts["floor_township"] == 1000.0
    )
    assert str(opts["deadline"]) == "2016-07-01" and opts["progress"] is False
    out = run_mode(
        args.mode,
        COUNTY.households,
        COUNTY.projects,
        options=opts | {"floor_township": None},
    )
    assert out.tables["bundles.csv"]["households"].max() <= 3
    with pytest.raises(SystemExit):
        parser.parse_args(["--bundle-size", "0"])
    assert "--bundle-size" in parser.format_help() and set(MODES) == {
        "single",
        "crowdfunding",
        "bundle",
        "custom",
    }


def test_unknown_modes_and_options_raise():
    with pytest.raises(ConfigError, match="mode must be one of"):
        run_mode("lottery", COUNTY.households, COUNTY.projects)
    with pytest.raises(ConfigError, match="unknown option"):
        run_mode(
            "single", COUNTY.households, COUNTY.projects, options={"bundle_sise": 3}
        )
