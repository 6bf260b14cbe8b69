"""zfb: precision poverty alleviation.

Keep a needs table of poor households and a supply table of funders' projects,
match them optimally, and analyse the household data for the reports a county
can act on.
"""

from .analysis import cause_shares, summary
from .errors import (
    ConfigError,
    InfeasibleError,
    InputError,
    Problem,
    SolverError,
    UnknownCauseError,
    ValidationError,
    ZfbError,
    ZfbWarning,
)
from .io import (
    read_households,
    read_projects,
    read_table,
    validate_households,
    validate_projects,
    write_table,
)
from .matching import (
    MatchGapWarning,
    MatchResult,
    ScoreWeights,
    eligible_edges,
    match_single,
    to_networkx,
)
from .matching.modes import run_mode
from .report import render_report, write_report
from .synth import County, generate_county, load_townships, write_county
from .taxonomy import Taxonomy, load_taxonomy

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "County",
    "MatchGapWarning",
    "MatchResult",
    "ScoreWeights",
    "cause_shares",
    "eligible_edges",
    "generate_county",
    "load_townships",
    "match_single",
    "read_households",
    "read_projects",
    "read_table",
    "render_report",
    "run_mode",
    "summary",
    "to_networkx",
    "validate_households",
    "validate_projects",
    "write_county",
    "write_report",
    "write_table",
    "InfeasibleError",
    "InputError",
    "Problem",
    "SolverError",
    "Taxonomy",
    "UnknownCauseError",
    "ValidationError",
    "ZfbError",
    "ZfbWarning",
    "__version__",
    "load_taxonomy",
]
