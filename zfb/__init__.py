"""zfb: precision poverty alleviation.

Keep a needs table of poor households and a supply table of funders' projects,
match them optimally, and analyse the household data for the reports a county
can act on.
"""

from ._lazy import lazy_names
from .errors import (
    ConfigError,
    InfeasibleError,
    InputError,
    Problem,
    SheetWarning,
    SolverError,
    UnknownCauseError,
    ValidationError,
    ZfbError,
    ZfbWarning,
)
from .taxonomy import Taxonomy, load_taxonomy

#: Public names loaded on first use (PEP 562), so that ``import zfb`` and the
#: command line start fast: the report alone imports matplotlib and seaborn.
_LAZY = {
    "cause_shares": ".analysis",
    "summary": ".analysis",
    "read_households": ".io",
    "read_projects": ".io",
    "read_table": ".io",
    "validate_households": ".io",
    "validate_matches": ".io",
    "validate_projects": ".io",
    "validate_table": ".io",
    "write_table": ".io",
    "MatchGapWarning": ".matching",
    "MatchResult": ".matching",
    "ScoreWeights": ".matching",
    "eligible_edges": ".matching",
    "match_single": ".matching",
    "to_networkx": ".matching",
    "run_mode": ".matching.modes",
    "render_report": ".report",
    "write_report": ".report",
    "County": ".synth",
    "generate_county": ".synth",
    "load_townships": ".synth",
    "write_county": ".synth",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


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
    "validate_matches",
    "validate_projects",
    "validate_table",
    "write_county",
    "write_report",
    "write_table",
    "InfeasibleError",
    "InputError",
    "Problem",
    "SheetWarning",
    "SolverError",
    "Taxonomy",
    "UnknownCauseError",
    "ValidationError",
    "ZfbError",
    "ZfbWarning",
    "__version__",
    "load_taxonomy",
]
