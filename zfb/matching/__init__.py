"""Matching households to projects.

Single mode: each household to at most one project, each project within its
capacity and budget, the total score maximal. See ``docs/matching.md``.
"""

from .eligibility import covers, eligible_edges, to_networkx
from .scoring import ScoreWeights, explain, poverty_gap, priority
from .single import SOLVERS, MatchGapWarning, MatchResult, match_single

__all__ = [
    "SOLVERS",
    "MatchGapWarning",
    "MatchResult",
    "ScoreWeights",
    "covers",
    "eligible_edges",
    "explain",
    "match_single",
    "poverty_gap",
    "priority",
    "to_networkx",
]
