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
from .taxonomy import Taxonomy, load_taxonomy

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
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
