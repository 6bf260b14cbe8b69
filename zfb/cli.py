"""The ``zfb`` command line: a thin layer over the library's functions.

Exit status: 0 on success, 2 on bad input (the problems on standard error, no
traceback), 1 on an unexpected failure, 130 when interrupted (Ctrl-C) and 143
when terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .arguments import (
    add_county_options,
    add_sheet_option,
    taxonomy_of,
    townships_of,
)
from .errors import InputError, ValidationError, ZfbError, ZfbWarning

logger = logging.getLogger("zfb")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_TERMINATED = 128 + 15  # SIGTERM, as a shell reports it
EXIT_INTERRUPTED = 128 + 2  # SIGINT (Ctrl-C)


def _from_store(args) -> bool:
    """Whether tables are read from the store (``--db`` or ZFB_DATABASE_URL)."""
    return bool(getattr(args, "db", None) or os.environ.get("ZFB_DATABASE_URL"))


def _read_households(args, path=None):
    from .io import read_households

    path = path or args.households
    if path is None:
        if not _from_store(args):
            raise InputError("give --households FILE, or --db URL to read the store")
        from .store.commands import load_households

        table = load_households(args.db)
        if table.empty:
            raise InputError(
                "the store holds no households (is the --db path right?); "
                "import a file first with `zfb import FILE --db URL`"
            )
        return table
    return read_households(
        path,
        taxonomy=taxonomy_of(args),
        townships=townships_of(args),
        mapping=getattr(args, "mapping", None),
        sheet=getattr(args, "sheet", None),
    )


def _read_projects(args, path=None):
    from .io import read_projects

    path = path or args.projects
    if path is None:
        if not _from_store(args):
            raise InputError("give --projects FILE, or --db URL to read the store")
        from .store.commands import load_projects

        return load_projects(args.db)
    return read_projects(
        path,
        taxonomy=taxonomy_of(args),
        townships=townships_of(args),
        mapping=getattr(args, "projects_mapping", None),
        sheet=getattr(args, "projects_sheet", None),
    )


# commands
def cmd_causes(args) -> int:
    """Print the taxonomy as CSV."""
    taxonomy_of(args).to_frame().to_csv(sys.stdout, index=False, lineterminator="\n")
    return EXIT_OK


def cmd_validate(args) -> int:
    """Validate one file and say what it holds."""
    from .io import read_table, validate_table

    raw = read_table(args.file, sheet=args.sheet, duplicate_headers="keep")
    kind = args.kind
    if kind is None:
        if args.mapping:
            from .survey import load_mapping

            kind = load_mapping(args.mapping).table
        else:
            from .schema import canonical_header

            is_project = any(
                canonical_header(h, "projects") == "project_id" for h in raw.columns
            )
            kind = "projects" if is_project else "households"
    table = validate_table(
        raw,
        kind,
        source=args.file,
        mapping=args.mapping,
        taxonomy=taxonomy_of(args),
        townships=townships_of(args),
    )
    if kind == "households":
        people = int(table["size"].sum())
        n = table["township"].nunique()
        print(
            f"{args.file}: OK, {len(table)} households ({people} people) in "
            f"{n} {'township' if n == 1 else 'townships'}"
        )
    else:
        print(
            f"{args.file}: OK, {len(table)} projects of "
            f"{table['funder'].nunique()} funders, budget "
            f"{table['budget'].sum():,.0f} CNY, capacity "
            f"{int(table['capacity'].sum())} households"
        )
    return EXIT_OK


def _write_tables(tables, out: Path, about: dict | None = None) -> list[Path]:
    """Write the result tables as one set (:func:`zfb.output.write_run`), the
    key columns of matches.csv first."""
    from .output import write_run

    first = ["household_id", "project_id", "amount", "score", "explanation"]
    ordered = {}
    for name, df in tables.items():
        if name == "matches.csv":
            lead = [c for c in first if c in df.columns]
            df = df[lead + [c for c in df.columns if c not in lead]]
        elif name == "edges.csv":
            # a county has millions of pairs: the pair, its amount and its score
            keep = ["household_id", "project_id", "amount", "relevance"]
            keep += ["priority", "score", "matched"]
            df = df[[c for c in keep if c in df.columns]]
        ordered[name] = df
    return write_run(ordered, out, about=about)


def _inputs(args, *names: str) -> dict[str, dict[str, str]]:
    """File name and SHA-256 of each input file given, for run.json."""
    from .output import file_digest

    files: dict[str, dict[str, str]] = {}
    for name in names:
        path = getattr(args, name, None)
        if path and Path(path).is_file():
            files[name] = {"file": Path(path).name, "sha256": file_digest(path)}
            sheet = getattr(
                args, {"households": "sheet"}.get(name, f"{name}_sheet"), None
            )
            if sheet is not None:
                files[name]["sheet"] = str(sheet)
        elif path:  # a shipped mapping, by name
            files[name] = {"name": str(path)}
    if _from_store(args) and not (args.households and args.projects):
        files["store"] = {"name": "the store given by --db (its URL is not kept)"}
    return files


def _check_out_dir(out: Path) -> None:
    """Fail before a long solve if the output folder cannot be written."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"--out {out}: the folder is not writable")


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _gap(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


#: Options of run_mode that run.json leaves out: files (recorded among the
#: inputs), the progress bar, and the excluded pairs (counted instead).
_NOT_RECORDED = ("progress", "pledges_file", "funds_file", "criteria_file", "exclude")


def cmd_match(args) -> int:
    """Match households to projects in one mode and write the result tables."""
    from .matching.modes import options_from_args, run_mode

    t0 = time.perf_counter()
    households = _read_households(args)
    projects = _read_projects(args)
    if projects.empty and args.projects is None:
        raise InputError(
            "the store holds no projects (is the --db path right?); import a "
            "projects file first with `zfb import FILE --db URL`, or give "
            "--projects FILE"
        )
    t_read = time.perf_counter() - t0
    _check_out_dir(Path(args.out))
    options = options_from_args(args)
    from_store = _from_store(args) and args.households is None
    if from_store and args.mode == "single":
        # what the store already holds stays as it is
        from .store.commands import load_match_book

        book = load_match_book(args.db)
        n = len(households)
        households, projects = book.open_tables(households, projects)
        options["exclude"] = book.declined_pairs()
        print(
            f"the store: {n - len(households)} households hold an accepted, funded "
            f"or delivered match, kept as it is; {len(options['exclude'])} declined "
            "pairs are not proposed again"
        )
    pledges = None
    crowd = args.mode == "crowdfunding" or getattr(args, "bundle_crowdfund", False)
    if crowd and _from_store(args) and not args.pledges:
        from .store.commands import load_pledges

        pledges, to_projects = load_pledges(args.db)
        line = f"the store: {len(pledges)} pledges to households"
        if to_projects:
            line += f" ({to_projects} pledges to projects are not read here)"
        print(line)
    result = run_mode(
        args.mode,
        households,
        projects,
        taxonomy=taxonomy_of(args),
        pledges=pledges,
        options=options,
    )
    about = {
        "command": args.command,  # match, or demo
        "mode": args.mode,
        "inputs": _inputs(
            args, "households", "projects", "mapping", "projects_mapping",
            "pledges", "funds", "criteria",
        ),
        "options": {
            k: v
            for k, v in options.items()
            if k not in _NOT_RECORDED
        },
        "excluded_pairs": len(options.get("exclude") or ()),
        "total_score": result.total_score,
        "status": result.status,
        "bound": result.bound,
        "gap": result.gap,
        "time_limit_reached": bool(
            getattr(result.result, "time_limit_reached", False)
        ),
    }  # fmt: skip
    paths = _write_tables(result.tables, Path(args.out), about)
    if from_store and args.mode == "single":
        from .store.commands import save_match_result

        saved = save_match_result(args.db, result.tables["matches.csv"])
        print(
            f"the store: {saved['proposed']} new proposals, "
            f"{saved.get('proposed_again', 0)} proposed again, {saved['updated']} "
            f"updated, {saved['withdrawn']} withdrawn (no longer proposed), "
            f"{saved['kept']} decided by people and kept"
        )
    for line in result.lines:
        print(line)
    if not args.quiet:
        timings = getattr(result.result, "timings", None) or {}
        steps = "".join(f"; {k} {v:.2f} s" for k, v in timings.items())
        print(f"read {t_read:.2f} s{steps}")
        for path in paths:
            print(f"wrote {path}")
    return EXIT_OK


def cmd_report(args) -> int:
    """Write the county report."""
    from .io import read_table, validate_matches
    from .report import write_report

    households = _read_households(args)
    projects = (
        _read_projects(args) if args.projects or args.households is None else None
    )
    matches = None
    if not args.matches and args.households is None and _from_store(args):
        from .store.commands import load_matches

        matches = load_matches(args.db)  # the proposed and held ones
        print(
            f"the store: {len(matches)} matches (proposed, accepted, funded or "
            "delivered)"
        )
    if args.matches:
        matches = validate_matches(
            read_table(args.matches, duplicate_headers="keep"),
            source=args.matches,
            households=households,
            projects=projects,
        )
    registry = None
    if getattr(args, "registry", None):
        from .representativeness import read_registry

        registry = read_registry(args.registry)
    path = write_report(
        households,
        args.out,
        projects=projects,
        matches=matches,
        title=args.title,
        taxonomy=taxonomy_of(args),
        registry=registry,
    )
    print(f"wrote {path}")
    return EXIT_OK


def cmd_generate(args) -> int:
    """Generate a synthetic county."""
    from .synth import generate_county, write_county

    county = generate_county(
        n_households=args.households, n_projects=args.projects, seed=args.seed
    )
    for path in write_county(county, args.out):
        print(f"wrote {path}")
    return EXIT_OK


def _sample_dir() -> Path | None:
    here = Path.cwd() / "data" / "sample"
    repo = Path(__file__).resolve().parents[1] / "data" / "sample"
    for path in (here, repo):
        if (path / "households.csv").is_file() and (path / "projects.csv").is_file():
            return path
    return None


def cmd_demo(args) -> int:
    """Match the shipped sample county and write its report."""
    out = Path(args.out)
    sample = Path(args.sample) if args.sample else _sample_dir()
    if sample is None:
        from .synth import generate_county, write_county

        print("data/sample not found: generating the sample county (seed 2016)")
        sample = out / "sample"
        write_county(
            generate_county(n_households=2000, n_projects=60, seed=2016), sample
        )
    args.households = str(sample / "households.csv")
    args.projects = str(sample / "projects.csv")
    args.mapping = args.projects_mapping = None
    args.mode = "single"
    print(f"sample county: {sample}")
    cmd_match(args)
    args.matches = str(out / "matches.csv")
    args.out = str(out / "report.html")
    args.title = args.title or "镇雄县(示例) 帮扶对接报告 · Sample county report"
    return cmd_report(args)


# parser
def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``zfb`` command."""
    parser = argparse.ArgumentParser(
        prog="zfb",
        description="Precision poverty alleviation: validate household and project "
        "files, match households to projects optimally, and write county reports.",
    )
    parser.add_argument("--version", action="version", version=f"zfb {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "causes",
        help="print the taxonomy of causes of poverty as CSV",
        description="Print the causes of poverty as CSV: code, level (1 primary, "
        "2 secondary), parent, name_zh, name_en. A household's causes may be given "
        "by any code, name or alias of this taxonomy.",
    )
    add_county_options(p)
    p.set_defaults(func=cmd_causes)

    p = sub.add_parser(
        "validate",
        help="check a households or projects file and list every problem",
        description="Check a households or projects file (CSV or XLSX; UTF-8, "
        "GB18030/GBK). Every problem is listed on standard error with its file, "
        "row, column, value and rule; the exit status is 2 if there is any.",
    )
    p.add_argument("file", help="the CSV or XLSX file")
    p.add_argument(
        "--kind",
        choices=["households", "projects"],
        help="what the file holds (default: guessed from its headers)",
    )

    p.add_argument(
        "--mapping",
        metavar="NAME_OR_FILE",
        help="survey mapping that turns the file into zfb rows (costa_rica, "
        "kiva_loans, kiva_themes, or a .toml file; see docs/surveys.md)",
    )
    add_sheet_option(p, "the file")
    add_county_options(p)
    p.set_defaults(func=cmd_validate)

    def db_arg(p):
        p.add_argument(
            "--db",
            metavar="URL",
            help="read households and projects not given as files from the store "
            "(SQLite path or postgresql:// URL; default ZFB_DATABASE_URL)",
        )

    def match_args(p):
        p.add_argument("--households", metavar="FILE", help="households file")
        p.add_argument("--projects", metavar="FILE", help="projects file")
        db_arg(p)
        p.add_argument("--out", required=True, metavar="DIR", help="output folder")
        p.add_argument(
            "--mapping", metavar="NAME_OR_FILE", help="survey mapping for households"
        )
        p.add_argument(
            "--projects-mapping", metavar="NAME_OR_FILE", help="mapping for projects"
        )
        add_sheet_option(p, "the households file")
        add_sheet_option(p, "the projects file", "--projects-sheet")

    def solve_args(p):
        p.add_argument(
            "--time-limit",
            type=_positive,
            default=None,
            metavar="SECONDS",
            help="most seconds the solvers may take (default 60), a safety cap: "
            "single mode ends by itself, in seconds on a county, and gives the "
            "same matches for the same files; if the cap stops it, the summary "
            "says so",
        )
        p.add_argument(
            "--gap",
            type=_gap,
            default=None,
            metavar="RATIO",
            help="single mode: stop when the score is proven within this relative "
            "gap of the optimum (default 0.0001; 0 proves the optimum exactly, "
            "which can take much longer)",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="print less")

    p = sub.add_parser(
        "match",
        help="match households to projects and write the results",
        description="Match households to projects, maximising the total score "
        "(relevance times priority; see docs/matching.md). --mode single (the "
        "default): each household to at most one project, each project within "
        "its capacity and budget; writes matches.csv, unmatched.csv, projects.csv "
        "and edges.csv. --mode crowdfunding splits needs among projects and "
        "pledges; --mode bundle matches bundles of households that share a cause; "
        "--mode custom selects households by a funder's criteria (see "
        "docs/modes.md). Prints the total score, with the gap to the proven bound "
        "when the solver stopped before proving optimality.",
    )
    match_args(p)
    solve_args(p)
    add_county_options(p)
    from .matching.modes import add_mode_arguments

    add_mode_arguments(p)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser(
        "report",
        help="write the county report as one self-contained HTML file",
        description="Write one HTML file, charts embedded, that opens offline: "
        "sample size, cause shares, and when --matches is given the match results "
        "and unmatched needs. No names, phone numbers or ID numbers appear in it.",
    )
    p.add_argument("--households", metavar="FILE", help="households file")
    p.add_argument("--projects", metavar="FILE")
    p.add_argument(
        "--matches",
        metavar="FILE",
        help="matches.csv from `zfb match`, checked before the report is written "
        "(household_id, project_id, amount, score; households and projects "
        "known; one row per household unless it has crowdfunding's share column)",
    )
    db_arg(p)
    p.add_argument("--out", required=True, metavar="FILE", help="the HTML file")
    p.add_argument("--title", help="title of the report")
    p.add_argument(
        "--registry",
        metavar="FILE",
        help="registered households per township (CSV: township, households), "
        "for the representativeness of the sample",
    )
    p.add_argument("--mapping", metavar="NAME_OR_FILE")
    p.add_argument("--projects-mapping", metavar="NAME_OR_FILE")
    add_sheet_option(p, "the households file")
    add_sheet_option(p, "the projects file", "--projects-sheet")
    add_county_options(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "generate",
        help="generate a synthetic county calibrated to published cause shares",
        description="Generate a synthetic county (the 30 townships of 镇雄县, cause "
        "shares calibrated to published figures; see docs/synthetic-county.md) and "
        "write households.csv and projects.csv.",
    )
    p.add_argument(
        "--households",
        type=_positive_int,
        default=45972,
        metavar="N",
        help="households (default 45,972, the model county's)",
    )
    p.add_argument(
        "--projects",
        type=_positive_int,
        default=None,
        metavar="N",
        help="projects (default one for about 90 households)",
    )
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "demo",
        help="match the sample county and write its report",
        description="Read the sample county (data/sample), match it, and write "
        "matches.csv, unmatched.csv, projects.csv, edges.csv and report.html "
        "to --out.",
    )
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument(
        "--sample",
        metavar="DIR",
        help="folder with households.csv and projects.csv (default data/sample)",
    )
    p.add_argument("--title")
    solve_args(p)
    add_county_options(p)
    p.set_defaults(func=cmd_demo)

    from .dashboards.serve import add_commands as add_serve_command
    from .store.cli import add_commands

    add_commands(sub)
    add_serve_command(sub)
    return parser


def _show_warning(command: str, show):
    """``warnings.showwarning`` that prints zfb's warnings as one line on
    standard error, ``zfb COMMAND: warning: ...``, and others as Python does."""

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ZfbWarning):
            print(f"zfb {command}: warning: {message}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


#: Problems printed one by one; the others are counted by rule.
PROBLEMS_SHOWN = 50


def _print_problems(args, exc: ValidationError) -> None:
    """Every problem, or the first PROBLEMS_SHOWN and the rest counted by
    rule; all of them to ``--problems FILE`` when given."""
    from collections import Counter

    n = len(exc.problems)
    print(
        f"zfb {args.command}: error: {n} problem(s) found; nothing was written:",
        file=sys.stderr,
    )
    for problem in exc.problems[:PROBLEMS_SHOWN]:
        print(f"  {problem}", file=sys.stderr)
    rest = exc.problems[PROBLEMS_SHOWN:]
    if rest:
        print(f"  ... and {len(rest)} more, by rule:", file=sys.stderr)
        rules = Counter(f"{p.column}: {p.rule}" for p in rest)
        for rule, count in rules.most_common(10):
            print(f"    {count} x {rule}", file=sys.stderr)
        if len(rules) > 10:
            print(f"    and {len(rules) - 10} other rules", file=sys.stderr)
    path = getattr(args, "problems", None)
    if path:
        from .io import write_table

        write_table(exc.to_frame(), path)
        print(f"  every problem: {path}", file=sys.stderr)
    elif rest:
        print("  (--problems OUT.csv writes every one)", file=sys.stderr)


class _Terminated(BaseException):
    """SIGTERM arrived: unwind, so that nothing is left half-written."""


def _terminate(signum, frame) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``zfb`` command; return its exit status."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        return _main(argv)
    except _Terminated:
        print(
            "zfb: terminated; files it had not finished were not written",
            file=sys.stderr,
        )
        return EXIT_TERMINATED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    # the summary line of `zfb match` already states the gap of a time-limited solve
    from .matching import MatchGapWarning

    warnings.simplefilter("ignore", MatchGapWarning)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning(args.command, warnings.showwarning)
            return args.func(args)
    except ValidationError as exc:
        _print_problems(args, exc)
        return EXIT_BAD_INPUT
    except ZfbError as exc:
        print(f"zfb {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader went away (zfb causes | head): say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (OSError, UnicodeDecodeError) as exc:
        # a file or folder given on the command line cannot be read or written
        print(f"zfb {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(
            f"zfb {args.command}: interrupted; files it had not finished were not "
            "written",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
