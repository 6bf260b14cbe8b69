"""zfb: precision poverty alleviation.

Keep a needs table of poor households and a supply table of funders' projects,
match them optimally, and analyse the household data for the reports a county
can act on.
"""

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
from .matching import MatchResult, ScoreWeights, eligible_edges, match_single
from .synth import County, generate_county, load_townships, write_county
from .taxonomy import Taxonomy, load_taxonomy

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "County",
    "MatchResult",
    "ScoreWeights",
    "eligible_edges",
    "generate_county",
    "load_townships",
    "match_single",
    "read_households",
    "read_projects",
    "read_table",
    "validate_households",
    "validate_projects",
    "write_county",
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
