"""Matching households to projects.

Single mode: each household to at most one project, each project within its
capacity and budget, the total score maximal. See ``docs/matching.md``.

The public names below are loaded on first use (PEP 562), so that importing
a light submodule such as :mod:`zfb.matching.states` (the store does) does
not import the solvers, scipy and networkx.
"""

from .._lazy import lazy_names

#: Public names and the submodules that define them.
_LAZY = {
    "covers": ".eligibility",
    "eligible_edges": ".eligibility",
    "to_networkx": ".eligibility",
    "ScoreWeights": ".scoring",
    "explain": ".scoring",
    "poverty_gap": ".scoring",
    "priority": ".scoring",
    "SOLVERS": ".single",
    "MatchGapWarning": ".single",
    "MatchResult": ".single",
    "match_single": ".single",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
