"""Solvers of the single-mode assignment, on validated arrays.

The problem: edges ``e = (h[e], p[e])`` with a score ``s[e] >= 0`` and an
amount ``a[e] >= 0``; choose ``x[e]`` in {0, 1} to maximise ``sum s x``
subject to

- each household in at most one chosen edge;
- each project ``j`` in at most ``capacity[j]`` chosen edges;
- the amounts of project ``j``'s chosen edges sum to at most ``budget[j]``.

When no budget can bind (:func:`budget_can_bind`) this is a maximum-weight
b-matching, solved exactly as a min-cost flow (OR-Tools). Otherwise it is an
integer program, solved with HiGHS through ``highspy``; a large one is first
reduced by column generation on its linear relaxation, which also gives the
proven bound (see :func:`solve_mip`).

References
----------
.. [1] R. K. Ahuja, T. L. Magnanti and J. B. Orlin, *Network Flows: Theory,
   Algorithms, and Applications*, Prentice Hall, 1993 (assignment as
   min-cost flow, chapter 12).
.. [2] G. L. Nemhauser and L. A. Wolsey, *Integer and Combinatorial
   Optimization*, Wiley, 1988 (reduced-cost fixing, section II.5).
.. [3] M. E. Lübbecke and J. Desrosiers, "Selected topics in column
   generation", Operations Research 53(6), 1007-1023, 2005.
.. [4] Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex
   method", Mathematical Programming Computation 10, 119-142, 2018 (HiGHS).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..errors import SolverError

__all__ = [
    "Solution",
    "budget_can_bind",
    "components",
    "solve_flow",
    "solve_mip",
    "solve_greedy",
]

logger = logging.getLogger(__name__)

#: Scores are multiplied by this and rounded to integer flow costs.
COST_SCALE = 1_000_000
#: Relative gap below which a solution counts as optimal when no ``mip_gap``
#: is given: HiGHS' own default, as most solvers'.
MIP_GAP = 1e-4
#: Relative gap below which two objectives count as equal.
GAP_TOL = 1e-7
#: Components with at least this many edges go through column generation.
COLGEN_MIN_EDGES = 20_000
#: Reduced-cost threshold of the core program of a large integer program,
#: when the edges that reduced-cost fixing keeps are more than CORE_MAX_EDGES.
CORE_DELTA = 0.02
CORE_MAX_EDGES = 50_000
#: Most rounds of column generation.
MAX_ROUNDS = 30
#: Column generation stops when the bound is this close to the relaxation.
CG_TOL = 1e-4
#: Improvement passes: the projects whose budget can bind, taken in groups of
#: IMPROVE_GROUP, each group's households reassigned by a small integer
#: program solved to a relative gap of IMPROVE_GAP.
IMPROVE_PASSES = 1
IMPROVE_GROUP = 25
IMPROVE_GAP = 1e-3
#: HiGHS presolve is switched off on larger programs, where it is slower
#: than the solve.
PRESOLVE_MAX_EDGES = 5_000
_BANNER_LOCK = threading.Lock()
_BANNER_SHOWN = False
_RC_TOL = 1e-9


@dataclass
class Solution:
    """What a solver returns.

    Attributes
    ----------
    chosen : ndarray of bool, shape (n_edges,)
        Whether each edge is in the assignment.
    objective : float
        Sum of the chosen edges' scores.
    bound : float
        Proven upper bound on the optimal objective (NaN if none).
    status : {"optimal", "feasible"}
    stopped : bool, default=False
        Whether the time limit cut the solve short. The result is then the
        best found in the time, and may differ between runs; otherwise it
        depends on the input alone.
    """

    chosen: np.ndarray
    objective: float
    bound: float
    status: str
    stopped: bool = False


def budget_can_bind(
    p: np.ndarray, amount: np.ndarray, capacity: np.ndarray, budget: np.ndarray
) -> np.ndarray:
    """Whether each project's budget can bind.

    A budget cannot bind when the ``capacity`` largest amounts among the
    project's edges sum to no more than the budget: then any set of
    households the capacity allows also fits the budget.

    Parameters
    ----------
    p : ndarray of int, shape (n_edges,)
        Project of each edge.
    amount : ndarray of float, shape (n_edges,)
    capacity : ndarray of int, shape (n_projects,)
    budget : ndarray of float, shape (n_projects,)

    Returns
    -------
    ndarray of bool, shape (n_projects,)
    """
    n_p = len(capacity)
    order = _group_order(p, amount)
    ps, am = p[order], amount[order]
    start = np.searchsorted(ps, ps, side="left")
    rank = np.arange(len(ps)) - start
    top = rank < capacity[ps]
    worst = np.bincount(ps[top], weights=am[top], minlength=n_p)
    return worst > budget


def components(h: np.ndarray, p: np.ndarray, n_h: int, n_p: int) -> np.ndarray:
    """Connected component of each edge in the bipartite eligibility graph.

    Returns
    -------
    ndarray of int, shape (n_edges,)
        Component labels, 0 to n_components - 1.
    """
    n = n_h + n_p
    adj = sp.coo_array(
        (np.ones(len(h), dtype=np.int8), (h, n_h + p)), shape=(n, n)
    ).tocsr()
    _, labels = connected_components(adj, directed=False)
    return np.unique(labels[h], return_inverse=True)[1]


def _compress(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber the ids ``idx`` to 0..k-1; return (new ids, original ids)."""
    present = np.bincount(idx) > 0
    ids = np.flatnonzero(present)
    new_of = np.cumsum(present) - 1
    return new_of[idx], ids


def solve_flow(
    h: np.ndarray,
    p: np.ndarray,
    score: np.ndarray,
    capacity: np.ndarray,
    *,
    scale: int = COST_SCALE,
) -> Solution:
    """Maximum-score assignment when only project capacities bind.

    The network: each household node supplies one unit; arcs household ->
    project (capacity 1, cost ``-round(score * scale)``), project -> sink
    (capacity ``capacity``) and household -> sink (capacity 1, cost 0, the
    household left unmatched); the sink demands every unit. A min-cost flow
    is a maximum-score assignment (OR-Tools ``SimpleMinCostFlow``, cost
    scaling).

    Parameters
    ----------
    h, p : ndarray of int, shape (n_edges,)
        Household and project of each edge (any non-negative ids).
    score : ndarray of float, shape (n_edges,)
        Non-negative.
    capacity : ndarray of int, shape (n_projects,)
        Indexed by the project ids in ``p``.
    scale : int, default=COST_SCALE

    Returns
    -------
    Solution
        ``status`` is ``"optimal"`` and ``bound`` the objective.

    Notes
    -----
    The flow is optimal for the scores rounded to ``1 / scale``; its score
    is within ``n_matched / scale`` of the exact optimum.
    """
    from ortools.graph.python import min_cost_flow

    n_e = len(h)
    if n_e == 0:
        return Solution(np.zeros(0, dtype=bool), 0.0, 0.0, "optimal")
    hh, _ = _compress(h)
    pp, pid = _compress(p)
    n_h, n_p = int(hh.max()) + 1, len(pid)
    sink = n_h + n_p
    cost = -np.rint(np.asarray(score, dtype=float) * scale).astype(np.int64)
    tails = np.concatenate([hh, n_h + np.arange(n_p), np.arange(n_h)])
    heads = np.concatenate([n_h + pp, np.full(n_p, sink), np.full(n_h, sink)])
    caps = np.concatenate(
        [np.ones(n_e), np.asarray(capacity, dtype=np.int64)[pid], np.ones(n_h)]
    ).astype(np.int64)
    costs = np.concatenate([cost, np.zeros(n_p + n_h, dtype=np.int64)])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_h] = 1
    supplies[sink] = -n_h
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise SolverError(f"min-cost flow ended with status {status!r}")
    chosen = flow.flows(arcs[:n_e]) > 0
    obj = float(np.asarray(score)[chosen].sum())
    return Solution(chosen, obj, obj, "optimal")


def solve_greedy(
    h: np.ndarray,
    p: np.ndarray,
    score: np.ndarray,
    amount: np.ndarray,
    capacity: np.ndarray,
    budget: np.ndarray,
) -> Solution:
    """Greedy baseline: take edges by decreasing score while they fit.

    A benchmark to measure the exact solvers against; it gives no bound
    (``bound`` is NaN) and its status is ``"feasible"``.
    """
    n_e = len(h)
    chosen = np.zeros(n_e, dtype=bool)
    taken = np.zeros(int(h.max()) + 1 if n_e else 0, dtype=bool)
    room = np.asarray(capacity, dtype=np.int64).copy()
    money = np.asarray(budget, dtype=float).copy()
    order = np.argsort(-np.asarray(score), kind="stable")
    hl, pl, al = h[order].tolist(), p[order].tolist(), amount[order].tolist()
    for k, (i, j, a) in enumerate(zip(hl, pl, al, strict=True)):
        if not taken[i] and room[j] > 0 and a <= money[j]:
            taken[i] = True
            room[j] -= 1
            money[j] -= a
            chosen[order[k]] = True
    return Solution(chosen, float(score[chosen].sum()), float("nan"), "feasible")


def _highs():
    """A silent ``highspy.Highs`` instance.

    HiGHS prints a banner on the standard output when a process creates its
    first instance; it is sent to the null device so that the output of a
    command stays clean.
    """
    global _BANNER_SHOWN
    import highspy

    with _BANNER_LOCK:
        if _BANNER_SHOWN:
            model = highspy.Highs()
        else:
            _BANNER_SHOWN = True
            try:
                sys.stdout.flush()
                saved = os.dup(1)
            except (OSError, ValueError):
                saved = None
            if saved is None:
                model = highspy.Highs()
            else:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                try:
                    model = highspy.Highs()
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                    os.close(null)
    model.setOptionValue("output_flag", False)
    # a signal noted by _signals stops the solver at its next check
    for event in (model.cbSimplexInterrupt, model.cbIpmInterrupt, model.cbMipInterrupt):
        event.subscribe(_interrupt_if_signalled)
    return model


#: Signals received during a solve, and the handlers they are passed on to
#: (see :func:`_signals`).
_PENDING: list[int] = []
_HANDLERS: dict[int, object] = {}


def _interrupt_if_signalled(event) -> None:
    if _PENDING:
        event.interrupt()


def _note_signal(signum, frame) -> None:
    _PENDING.append(signum)


def _pass_on_signal() -> bool:
    """After a HiGHS run: pass a signal that arrived on to the handler that
    was in place (which raises ``KeyboardInterrupt`` for Ctrl-C); return
    whether one arrived, cutting the run short."""
    if not _PENDING:
        return False
    signum = _PENDING[0]
    _PENDING.clear()
    handler = _HANDLERS.get(signum)
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
    return True


@contextlib.contextmanager
def _signals():
    """Let Ctrl-C (SIGINT) and SIGTERM stop a solve within seconds.

    While HiGHS runs, Python cannot run a signal's handler, so a Ctrl-C
    waited for the end of the integer program. Here a signal is only noted;
    HiGHS' interrupt callbacks stop the solver at its next check, and when
    control is back in Python the handler that was in place runs
    (``KeyboardInterrupt`` for Ctrl-C, the command line's own for SIGTERM,
    or the system's default action). A handler that returns lets the solve
    go on, with the interrupted run counted as cut short. HiGHS checks at
    every simplex iteration and node, usually within a fraction of a second,
    but not inside the small programs its heuristics solve, which can take
    a few seconds. Outside the main thread, where handlers cannot be set,
    and for an ignored signal, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread() or _HANDLERS:
        yield
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler not in (signal.SIG_IGN, None):
            _HANDLERS[signum] = handler
            signal.signal(signum, _note_signal)
    try:
        yield
    finally:
        for signum, handler in _HANDLERS.items():
            signal.signal(signum, handler)
        _HANDLERS.clear()
        pending, _PENDING[:] = _PENDING[:1], []
        for signum in pending:  # arrived after the last run: its own handler
            signal.raise_signal(signum)


class _Program:
    """The rows of one assignment program, and its columns on demand.

    Rows: one per household (at most one project), one per project (its
    capacity), one per binding budget. A budget row is divided by the
    project's budget per household of capacity (``unit``), so that its
    coefficients are close to 1 and its right-hand side is the capacity (1
    CNY for a budget of 0, whose right-hand side is then 0).
    """

    def __init__(self, hh, pp, amount, cap, money, bind):
        n_p = len(cap)
        self.hh, self.pp = hh, pp
        self.n_h, self.n_p = int(hh.max()) + 1, n_p
        unit = np.where(money > 0, money / np.maximum(cap, 1), 1.0)
        self.weight = amount / unit[pp]
        self.budget_row = np.full(n_p, -1, dtype=np.int64)
        self.budget_row[bind] = np.arange(int(bind.sum()))
        rhs = (money / unit)[bind]
        self.upper = np.concatenate([np.ones(self.n_h), cap, rhs]).astype(float)

    def columns(self, idx: np.ndarray):
        """Column-wise entries (starts, row indices, values) of edges ``idx``."""
        k = len(idx)
        brow = self.budget_row[self.pp[idx]]
        rows = np.full((k, 3), -1, dtype=np.int64)
        rows[:, 0] = self.hh[idx]
        rows[:, 1] = self.n_h + self.pp[idx]
        rows[:, 2] = np.where(brow >= 0, self.n_h + self.n_p + brow, -1)
        vals = np.ones((k, 3))
        vals[:, 2] = self.weight[idx]
        used = rows >= 0
        count = used.sum(axis=1)
        starts = np.zeros(k, dtype=np.int32)
        np.cumsum(count[:-1], out=starts[1:])
        return starts, rows[used].astype(np.int32), vals[used]

    def reduced_costs(self, duals, score) -> np.ndarray:
        """``s - u_h - v_p - weight * w_p`` of every edge."""
        n_h, n_p = self.n_h, self.n_p
        u, v = duals[:n_h], duals[n_h : n_h + n_p]
        w = np.append(duals[n_h + n_p :], 0.0)
        return (
            score - u[self.hh] - v[self.pp] - self.weight * w[self.budget_row[self.pp]]
        )

    def lp(self):
        """An empty maximisation with these rows, to add columns to."""
        import highspy

        model = _highs()
        model.setOptionValue("presolve", "off")
        model.changeObjectiveSense(highspy.ObjSense.kMaximize)
        m = len(self.upper)
        empty = np.zeros(0, dtype=np.int32)
        model.addRows(
            m,
            np.full(m, -highspy.kHighsInf),
            self.upper,
            0,
            empty,
            empty,
            np.zeros(0),
        )
        return model

    def add(self, model, idx, score) -> None:
        starts, index, value = self.columns(idx)
        k = len(idx)
        model.addCols(
            k, score[idx], np.zeros(k), np.ones(k), len(index), starts, index, value
        )

    def mip(self, idx, score, start, time_limit, rel_gap):
        """Solve the 0-1 program on edges ``idx``; ``start`` (bool over ``idx``)
        is a feasible assignment to start from. Return (x or None, bound,
        whether the time limit stopped it)."""
        import highspy

        k = len(idx)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = k, len(self.upper)
        lp.col_cost_ = score[idx]
        lp.col_lower_, lp.col_upper_ = np.zeros(k), np.ones(k)
        lp.row_lower_ = np.full(len(self.upper), -highspy.kHighsInf)
        lp.row_upper_ = self.upper
        starts, index, value = self.columns(idx)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.append(starts, len(index)).astype(np.int32)
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = value
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.integrality_ = [highspy.HighsVarType.kInteger] * k
        model = _highs()
        model.passModel(lp)
        model.setOptionValue("time_limit", max(float(time_limit), 0.5))
        model.setOptionValue("mip_rel_gap", rel_gap)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = start.astype(float)
            sol.value_valid = True
            model.setSolution(sol)
        if k > PRESOLVE_MAX_EDGES:
            model.setOptionValue("presolve", "off")
        model.run()
        cut = _pass_on_signal()
        info = model.getInfo()
        status = model.getModelStatus()
        logger.debug(
            "HiGHS MIP on %d edges: %s, objective %.6f, bound %.6f, %d nodes",
            k,
            model.modelStatusToString(status),
            info.objective_function_value,
            info.mip_dual_bound,
            info.mip_node_count,
        )
        stopped = cut or status == highspy.HighsModelStatus.kTimeLimit
        if info.primal_solution_status != 2:  # no feasible solution
            return None, float("inf"), stopped
        x = np.asarray(model.getSolution().col_value) > 0.5
        return x, float(info.mip_dual_bound), stopped


def _fill(chosen, hh, pp, score, amount, room, money):
    """Add edges by decreasing score to a feasible assignment while they fit."""
    chosen = chosen.copy()
    taken = np.zeros(int(hh.max()) + 1, dtype=bool)
    taken[hh[chosen]] = True
    room = room - np.bincount(pp[chosen], minlength=len(room))
    money = money - np.bincount(pp[chosen], weights=amount[chosen], minlength=len(room))
    free = np.flatnonzero(~taken[hh] & (room[pp] > 0) & (amount <= money[pp]))
    free = free[np.argsort(-score[free], kind="stable")]
    open_projects = int((room > 0).sum())
    for e in free.tolist():
        i, j = hh[e], pp[e]
        if not taken[i] and room[j] > 0 and amount[e] <= money[j]:
            taken[i] = True
            room[j] -= 1
            money[j] -= amount[e]
            chosen[e] = True
            if room[j] == 0:
                open_projects -= 1
                if open_projects == 0:
                    break
    return chosen


def solve_mip(
    h: np.ndarray,
    p: np.ndarray,
    score: np.ndarray,
    amount: np.ndarray,
    capacity: np.ndarray,
    budget: np.ndarray,
    bind: np.ndarray,
    *,
    time_limit: float = 60.0,
    colgen_min_edges: int = COLGEN_MIN_EDGES,
    core_delta: float = CORE_DELTA,
    improve_passes: int = IMPROVE_PASSES,
    mip_gap: float = MIP_GAP,
) -> Solution:
    """Maximum-score assignment under capacities and budgets (HiGHS).

    Parameters
    ----------
    h, p : ndarray of int, shape (n_edges,)
        Household and project of each edge (any non-negative ids).
    score, amount : ndarray of float, shape (n_edges,)
    capacity, budget : ndarray, shape (n_projects,)
        Indexed by the project ids in ``p``.
    bind : ndarray of bool, shape (n_projects,)
        Projects whose budget row is kept; the others must be unable to
        bind (:func:`budget_can_bind`).
    time_limit : float, default=60.0
        Seconds allowed to the whole solve (at least 0.5 s for an integer
        program), a safety cap: the steps below end by themselves, and the
        limit stops them only on a very large or hard instance. The result
        then says so (``stopped``).
    colgen_min_edges : int, default=COLGEN_MIN_EDGES
        Programs with fewer edges go to HiGHS whole; larger ones are reduced
        first (see Notes).
    core_delta : float, default=CORE_DELTA
        Reduced-cost threshold of the edges the heuristics consider.
    improve_passes : int, default=IMPROVE_PASSES
        Passes of the improvement step (step 4 of the Notes); 0 skips it.
        More passes may raise the score a little, at about one second each
        on a county of 46,000 households.
    mip_gap : float, default=MIP_GAP
        The integer programs stop when the relative gap between the best
        assignment and the proven bound is at most this (0: prove the
        optimum exactly, which can take much longer).

    Returns
    -------
    Solution
        ``status`` is ``"optimal"`` when the relative gap between the
        objective and the proven bound is at most ``mip_gap`` (or
        ``GAP_TOL``, whichever is larger).

    Notes
    -----
    A program with fewer than ``colgen_min_edges`` edges goes to the HiGHS
    MIP solver whole. A larger one is solved in five steps.

    1. *Restricted set*: each project's best ``capacity + 5`` edges by
       score, and by score per CNY when its budget binds.
    2. *Column generation* on the linear relaxation: solve it on the set,
       price every edge with the row duals ``u`` (households), ``v``
       (capacities) and ``w`` (budgets), reduced cost ``r = s - u_h - v_p -
       a w_p``, add the edges with ``r > 0`` (the best ``2 * capacity + 10``
       per project) and solve again from the last basis. Raising each
       ``u_h`` by the household's largest positive ``r`` makes the duals
       feasible for every edge, so their value ``z`` bounds every
       assignment at every round; the rounds stop when ``z`` is within
       ``CG_TOL`` of the relaxation. With ``r`` lowered by the same amounts
       (so ``r <= 0``), an assignment that uses the edges ``E`` is worth at
       most ``z + sum(r_e, e in E)``.
    3. *Assignment*: the integral part of the relaxed solution is kept, and
       the other households are assigned by HiGHS among the edges with
       ``r >= -core_delta``, in what is left of the capacities and budgets;
       what still fits is added by decreasing score.
    4. *Improvement*: a large-neighbourhood search [5]_. The projects whose
       budget can bind are taken ``IMPROVE_GROUP`` at a time (in their order
       on the first pass, in a fixed shuffled order on the next); the
       households of a group, and the unassigned ones with an edge of
       ``r >= -core_delta`` to it, are reassigned among the group's projects
       by HiGHS, started from the current assignment, to a relative gap of
       ``IMPROVE_GAP``. The score never decreases.
    5. *Reduced-cost fixing*: with ``z_I`` the best assignment, an edge with
       ``r < -(z - z_I)`` belongs to no better assignment. When the other
       edges number at most ``CORE_MAX_EDGES``, HiGHS solves the program on
       them (the *core*), started from the best assignment: its optimum is
       then optimal for the whole problem, and its bound bounds it.
       Otherwise the bound reported is ``z``.

    Every step ends by itself (a tolerance, a number of rounds, a gap), so
    the same input gives the same assignment on any machine, however busy,
    unless the time limit stops a step first.

    On a county with many binding budgets the relaxation is typically 0.05
    to 0.2 % above the best assignment, too far for step 5 to prove
    optimality: the result is then ``"feasible"``, with that gap, much of
    which is the weakness of the relaxation's bound rather than of the
    assignment.

    References
    ----------
    .. [5] D. Pisinger and S. Ropke, "Large neighborhood search", in
       *Handbook of Metaheuristics*, Springer, 2010, 399-419.
    """
    with _signals():
        return _solve_mip(
            h, p, score, amount, capacity, budget, bind, time_limit=time_limit,
            colgen_min_edges=colgen_min_edges, core_delta=core_delta,
            improve_passes=improve_passes, mip_gap=mip_gap,
        )  # fmt: skip


def _solve_mip(
    h, p, score, amount, capacity, budget, bind, *, time_limit, colgen_min_edges,
    core_delta, improve_passes, mip_gap,
) -> Solution:  # fmt: skip
    start = time.perf_counter()
    n_e = len(h)
    if n_e == 0:
        return Solution(np.zeros(0, dtype=bool), 0.0, 0.0, "optimal")
    hh, _ = _compress(h)
    pp, pid = _compress(p)
    cap = np.asarray(capacity, dtype=np.int64)[pid]
    money = np.asarray(budget, dtype=float)[pid]
    bind = np.asarray(bind, dtype=bool)[pid]
    score = np.asarray(score, dtype=float)
    amount = np.asarray(amount, dtype=float)
    prog = _Program(hh, pp, amount, cap, money, bind)

    def left() -> float:
        return time_limit - (time.perf_counter() - start)

    tol = max(mip_gap, GAP_TOL)
    # HiGHS' gap, (bound - score) / score, is never below ours, divided by the
    # bound: where it stops, this status is "optimal"
    highs_gap = mip_gap
    if n_e < colgen_min_edges:
        x, bound, stopped = prog.mip(np.arange(n_e), score, None, left(), highs_gap)
        if x is None:  # nothing found in time: the greedy assignment
            x = _fill(np.zeros(n_e, dtype=bool), hh, pp, score, amount, cap, money)
        # each household takes at most its best edge: a bound that always holds
        best = np.zeros(prog.n_h)
        np.maximum.at(best, hh, score)
        bound = min(bound, float(best.sum()))
        obj = float(score[x].sum())
        bound = max(bound, obj)
        _check(x, hh, pp, amount, cap, money)
        return Solution(x, obj, bound, _status(obj, bound, tol), stopped)

    # restricted set, column generation
    import highspy

    stopped = False
    active = _initial_columns(pp, score, amount, cap, bind)
    order = np.flatnonzero(active)
    master = prog.lp()
    prog.add(master, order, score)
    for rounds in range(1, MAX_ROUNDS + 1):
        master.setOptionValue("time_limit", max(left(), 1.0))
        master.run()
        stopped |= _pass_on_signal()
        sol = master.getSolution()
        solved = master.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if not sol.dual_valid:
            raise SolverError(
                "HiGHS did not solve the linear relaxation: "
                + master.modelStatusToString(master.getModelStatus())
            )
        duals = np.maximum(np.asarray(sol.row_dual), 0.0)
        z_lp = master.getInfo().objective_function_value
        rc = prog.reduced_costs(duals, score)
        # raising u_h by the household's largest positive reduced cost makes
        # the duals feasible for every edge
        lift = np.zeros(prog.n_h)
        np.maximum.at(lift, hh, rc)
        bound = float(duals @ prog.upper + lift.sum())
        add = ~active & (rc > _RC_TOL)
        logger.debug(
            "column generation round %d: %d edges, relaxation %.6f, bound %.6f, "
            "%d priced in",
            rounds,
            len(order),
            z_lp,
            bound,
            int(add.sum()),
        )
        if not solved or not add.any() or bound - z_lp <= CG_TOL * abs(bound):
            break
        if left() <= 0:
            stopped = True
            break
        new = np.flatnonzero(add)
        new = new[_top_per_group(pp[new], rc[new], 2 * cap + 10)]
        active[new] = True
        prog.add(master, new, score)
        order = np.concatenate([order, new])
    stopped |= not solved
    rc = rc - lift[hh]
    x_lp = np.zeros(n_e)
    if solved:  # a relaxation stopped by the time limit is not feasible
        x_lp[order] = np.asarray(sol.col_value)

    # assignment: the integral part of the relaxation, the rest by HiGHS
    fixed = x_lp > 1 - 1e-9
    chosen = _fill(fixed, hh, pp, score, amount, cap, money)
    if _gap(float(score[chosen].sum()), bound) > tol and left() > 0.5:
        sub, cut = _repair(
            fixed, hh, pp, score, amount, cap, money, bind, rc, core_delta, left(),
            highs_gap,
        )  # fmt: skip
        stopped |= cut
        if sub is not None and score[sub].sum() > score[chosen].sum():
            chosen = sub

    # improvement
    if _gap(float(score[chosen].sum()), bound) > tol and improve_passes > 0:
        chosen, cut = _improve(
            chosen, hh, pp, score, amount, cap, money, bind, rc,
            delta=core_delta, passes=improve_passes, deadline=start + time_limit,
        )  # fmt: skip
        stopped |= cut
    z_inc = float(score[chosen].sum())

    # reduced-cost fixing: the core holds every edge of a better assignment
    needed = rc >= -(bound - z_inc) - _RC_TOL
    if _gap(z_inc, bound) > tol and needed.sum() <= CORE_MAX_EDGES:
        if left() > 0.5:
            core = np.flatnonzero(needed | chosen)
            logger.debug("core program: %d of %d edges", len(core), n_e)
            x, core_bound, cut = prog.mip(core, score, chosen[core], left(), highs_gap)
            stopped |= cut
            if x is not None and float(score[core[x]].sum()) > z_inc:
                chosen = np.zeros(n_e, dtype=bool)
                chosen[core[x]] = True
                z_inc = float(score[chosen].sum())
            if np.isfinite(core_bound):
                bound = min(bound, max(core_bound, z_inc))
        else:
            stopped = True
    _check(chosen, hh, pp, amount, cap, money)
    if stopped:
        logger.info("the time limit of %.1f s stopped the integer program", time_limit)
    return Solution(chosen, z_inc, bound, _status(z_inc, bound, tol), stopped)


def _check(chosen, hh, pp, amount, cap, money) -> None:
    """Raise SolverError unless ``chosen`` is a feasible assignment."""
    n_p = len(cap)
    per_household = np.bincount(hh[chosen], minlength=1)
    used = np.bincount(pp[chosen], minlength=n_p)
    spent = np.bincount(pp[chosen], weights=amount[chosen], minlength=n_p)
    if (
        per_household.max() > 1
        or (used > cap).any()
        or (spent > money * (1 + 1e-9) + 1e-6).any()
    ):
        raise SolverError(
            "the solver returned an assignment that breaks a capacity, a budget "
            "or the one-project rule; please report it with the input tables"
        )


def _repair(
    fixed, hh, pp, score, amount, cap, money, bind, rc, delta, time_limit, rel_gap
):
    """Keep the edges ``fixed``; assign the other households optimally among
    the edges with reduced cost at least ``-delta``, in what is left of the
    capacities and budgets. Return the assignment (bool over edges, or None)
    and whether the time limit stopped it.
    """
    taken = np.zeros(int(hh.max()) + 1, dtype=bool)
    taken[hh[fixed]] = True
    room = cap - np.bincount(pp[fixed], minlength=len(cap))
    left = money - np.bincount(pp[fixed], weights=amount[fixed], minlength=len(cap))
    free = ~taken[hh] & (room[pp] > 0) & (amount <= left[pp]) & (rc >= -delta)
    idx = np.flatnonzero(free)
    chosen = fixed.copy()
    stopped = False
    if len(idx):
        sh, _ = _compress(hh[idx])
        sp_, spid = _compress(pp[idx])
        prog = _Program(sh, sp_, amount[idx], room[spid], left[spid], bind[spid])
        x, _, stopped = prog.mip(
            np.arange(len(idx)), score[idx], None, time_limit, rel_gap
        )
        if x is None:
            return None, stopped
        chosen[idx[x]] = True
    logger.debug("repair: %d edges kept, %d free", int(fixed.sum()), len(idx))
    return _fill(chosen, hh, pp, score, amount, cap, money), stopped


def _neighbourhood(chosen, hh, pp, rc, group, delta) -> np.ndarray:
    """Edges of an improvement step: those into the projects ``group`` of
    the households assigned to one of them, and of the unassigned households
    with reduced cost at least ``-delta``; the assigned edges among them."""
    n_h = int(hh.max()) + 1
    in_group = np.zeros(int(pp.max()) + 1, dtype=bool)
    in_group[group] = True
    into = in_group[pp]
    assigned = np.zeros(n_h, dtype=bool)
    assigned[hh[chosen]] = True
    movable = ~assigned
    movable[hh[chosen & into]] = True
    return np.flatnonzero(into & (chosen | (movable[hh] & (rc >= -delta))))


def _improve(chosen, hh, pp, score, amount, cap, money, bind, rc, *, delta, passes,
             deadline):  # fmt: skip
    """Large-neighbourhood search over the projects whose budget can bind
    (step 4 of :func:`solve_mip`). Return the assignment and whether the
    deadline stopped the search."""
    projects = np.flatnonzero(bind)
    z = float(score[chosen].sum())
    for k in range(passes):
        order = projects if k == 0 else np.random.default_rng(k).permutation(projects)
        for first in range(0, len(order), IMPROVE_GROUP):
            if time.perf_counter() >= deadline:
                return chosen, True
            idx = _neighbourhood(
                chosen, hh, pp, rc, order[first : first + IMPROVE_GROUP], delta
            )
            if len(idx) == 0:
                continue
            sh, _ = _compress(hh[idx])
            sp_, spid = _compress(pp[idx])
            prog = _Program(sh, sp_, amount[idx], cap[spid], money[spid], bind[spid])
            x, _, cut = prog.mip(
                np.arange(len(idx)), score[idx], chosen[idx],
                deadline - time.perf_counter(), rel_gap=IMPROVE_GAP,
            )  # fmt: skip
            if (
                x is not None
                and float(score[idx[x]].sum()) > score[idx][chosen[idx]].sum()
            ):
                chosen = chosen.copy()
                chosen[idx] = False
                chosen[idx[x]] = True
            if cut:
                return chosen, True
        logger.debug(
            "improvement pass %d: score %.6f (+%.6f)",
            k + 1,
            score[chosen].sum(),
            score[chosen].sum() - z,
        )
    return chosen, False


def _initial_columns(pp, score, amount, cap, bind) -> np.ndarray:
    """Each project's best ``capacity + 5`` edges by score, and by score per
    CNY when its budget binds."""
    limit = cap + 5
    keep = _top_per_group(pp, score, limit)
    if bind.any():
        ratio = np.where(amount > 0, score / np.maximum(amount, 1e-12), np.inf)
        keep |= _top_per_group(pp, ratio, limit) & bind[pp]
    return keep


def _top_per_group(group: np.ndarray, value: np.ndarray, limit: np.ndarray):
    """Mask of the ``limit[g]`` largest values of each group ``g``."""
    order = _group_order(group, value)
    gs = group[order]
    rank = np.arange(len(gs)) - np.searchsorted(gs, gs, side="left")
    mask = np.zeros(len(group), dtype=bool)
    mask[order[rank < limit[gs]]] = True
    return mask


def _group_order(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Order by ``group``, then by decreasing ``value`` (ties in input order).

    The same as ``np.lexsort((-value, group))``, faster: a stable sort on the
    small integer groups (a radix sort) after a sort on the values.
    """
    order = np.argsort(-value, kind="stable")
    small = np.int16 if len(group) == 0 or group.max() < 2**15 else np.int64
    return order[np.argsort(group[order].astype(small), kind="stable")]


def _gap(objective: float, bound: float) -> float:
    if not np.isfinite(bound):
        return float("inf")
    return max(bound - objective, 0.0) / max(abs(bound), 1e-12)


def _status(objective: float, bound: float, tol: float = GAP_TOL) -> str:
    return "optimal" if _gap(objective, bound) <= tol else "feasible"
