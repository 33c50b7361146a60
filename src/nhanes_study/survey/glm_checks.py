"""What can make a binary or count GLM's estimates meaningless, found and named.

:func:`fit_warnings` returns plain sentences (the fit keeps them in ``GLMFit.warnings``):

* **non-convergence** - IRLS stopped at ``maxit`` (with the last relative change of the
  deviance), or had to halve its step (R's "algorithm stopped at boundary value");
* **separation** - a covariate cell with no event, or with every row an event (a 0/1
  column whose rows with value 1, or 0, all share the outcome), a single column that
  orders events and non-events without overlap, and, in general, a direction ``b`` with
  ``(2y - 1) x'b >= 0`` for every row (binomial) or ``x'b <= 0`` with equality on every row
  with a count (poisson), found by linear programming (Konis 2007; the method of R's
  ``detectseparation``). The estimates of the columns in that direction diverge: the
  warning names them, and the rows they predict perfectly;
* **fitted means numerically 0 or 1** - R's ``glm.fit`` warning;
* **few events per parameter** - fewer than :data:`MIN_EVENTS_PER_PARAMETER` events (the
  rarer outcome for a binary outcome, the total count for a count) per coefficient.

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_warnings", "separation", "cell_separation", "MIN_EVENTS_PER_PARAMETER"]

#: Fewer events per estimated coefficient than this: a warning (the usual rule of thumb).
MIN_EVENTS_PER_PARAMETER = 10
#: Fitted means this close to 0 (or 1) send the fit to the linear-programming check.
_NEAR_BOUNDARY = 1e-7
_EPS10 = 10 * np.finfo(float).eps


def _is_binary(family) -> bool:
    return family.base_name == "binomial"


def _is_count(family) -> bool:
    return family.base_name == "poisson"


def cell_separation(y, X, names, w, family, max_named: int = 5) -> list[str]:
    """Covariate cells that separate: a 0/1 column whose rows at 1 (or at 0) have no event
    or (binary outcome) all have it; a single column ordering the outcome without overlap."""
    used = w > 0
    y, X = y[used], X[used]
    out: list[str] = []
    for j, name in enumerate(names):
        x = X[:, j]
        values = np.unique(x)
        if values.size == 1:
            continue
        if values.size == 2 and values[0] == 0 and values[1] == 1:
            for v in (1.0, 0.0):
                cell = x == v
                n = int(cell.sum())
                events = int((y[cell] > 0).sum())
                label = f"{name} = {v:g}"
                if events == 0:
                    out.append(f"no event among the {n} row(s) with {label}: its estimate diverges "
                               f"(separation); merge or drop that level")
                elif _is_binary(family) and int((y[cell] < 1).sum()) == 0:
                    out.append(f"every one of the {n} row(s) with {label} has the event: its estimate "
                               f"diverges (separation); merge or drop that level")
        elif _is_binary(family):
            ev, ne = x[y == 1], x[y == 0]
            if ev.size and ne.size and ((ev.max() < ne.min()) or (ne.max() < ev.min())):
                out.append(f"{name} separates events from non-events completely (no overlap of its "
                           f"values): its estimate diverges")
        if len(out) >= max_named:
            break
    return out


def separation(y, X, names, w, family, tol: float = 1e-7) -> tuple[list[str], int]:
    """A direction in which the likelihood keeps increasing, by linear programming.

    Returns (the columns whose estimates diverge, the number of rows perfectly predicted);
    ([], 0) if the maximum likelihood estimate exists. Columns are scaled to max |x| = 1 and
    b is bounded to [-1, 1]; the LP solution is re-checked exactly (to ``tol``).
    """
    used = w > 0
    y, X = y[used], X[used]
    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    Xs = X / scale
    p = Xs.shape[1]
    if _is_binary(family):
        ones, zeros = y >= 1, y <= 0
        mid = ~(ones | zeros)
        S = np.where(ones[:, None], Xs, -Xs)[~mid]            # want S b >= 0
        E = Xs[mid]                                            # want E b = 0
    elif _is_count(family):
        S = -Xs[y <= 0]                                        # want -x'b >= 0 on zero counts
        E = Xs[y > 0]                                          # and x'b = 0 on positive counts
    else:
        return [], 0
    if S.shape[0] == 0:
        return [], 0
    from scipy import optimize  # only for the rare fit that reaches this check

    res = optimize.linprog(-S.sum(axis=0), A_ub=-S, b_ub=np.zeros(S.shape[0]),
                           A_eq=E if E.shape[0] else None, b_eq=np.zeros(E.shape[0]) if E.shape[0] else None,
                           bounds=[(-1, 1)] * p, method="highs")
    if res.status != 0 or res.x is None:
        return [], 0
    b = res.x
    v = S @ b
    if E.shape[0] and np.max(np.abs(E @ b)) > tol:
        return [], 0
    if v.min() < -tol or v.max() <= 1e3 * tol:
        return [], 0
    cols = [names[j] for j in range(p) if abs(b[j]) > 1e3 * tol]
    return cols, int((v > 1e3 * tol).sum())


def fit_warnings(state, X, names, w, family, *, maxit: int, epsilon: float,
                 check_separation: bool = True) -> tuple[str, ...]:
    """Every warning about one IRLS fit (see the module's docstring), in a fixed order."""
    out: list[str] = []
    if not state.converged:
        out.append(f"the GLM did not converge in {maxit} iterations (relative change of the deviance "
                   f"{state.last_change:.1e}, tolerance {epsilon:g}): its estimates are not reliable")
    if state.boundary:
        out.append("the GLM's IRLS had to halve its step (R: 'algorithm stopped at boundary value')")
    used = w > 0
    mu, y = state.mu[used], state.y[used]
    if _is_binary(family):
        extreme = int(((mu > 1 - _EPS10) | (mu < _EPS10)).sum())
        near = bool(((mu > 1 - _NEAR_BOUNDARY) | (mu < _NEAR_BOUNDARY)).any())
        what = "probabilities"
    else:
        extreme = int((mu < _EPS10).sum())
        near = bool((mu < _NEAR_BOUNDARY * max(float(np.mean(y)), 1e-300)).any())
        what = "rates"
    cells = cell_separation(state.y, X, names, w, family) if check_separation else []
    out.extend(cells)
    cols: list[str] = []
    # the LP looks for a cause when the fit shows a symptom the cell checks do not explain
    if check_separation and (near or not state.converged) and not cells:
        cols, rows = separation(state.y, X, names, w, family)
        if cols:
            out.append(f"separation: the estimates of {', '.join(cols)} diverge ({rows} row(s) are "
                       f"predicted perfectly); the maximum likelihood estimate does not exist. Merge "
                       f"sparse levels, drop the column(s) or use a penalized (Firth) model")
    if extreme:
        out.append(f"fitted {what} numerically {'0 or 1' if _is_binary(family) else '0'} for "
                   f"{extreme} row(s)")
        if check_separation and not cells and not cols and extreme > len(mu) // 2:
            out.append(f"the IRLS diverged: fitted {what} are numerically "
                       f"{'0 or 1' if _is_binary(family) else '0'} for {extreme} of {len(mu)} rows "
                       f"although the data are not separated (R's glm does the same when the prior "
                       f"weights are large: its start (w y + 0.5) / (w + 1) sits at 0 or 1). Rescale "
                       f"the weights to mean 1 (w / mean(w)) and refit")
    p = X.shape[1]
    if _is_binary(family):
        events = int(min((y > 0).sum(), (y < 1).sum()))
        kind = "events (the rarer outcome)"
    else:
        events = int(round(float(np.sum(y))))
        kind = "events (total count)"
    if p and events < MIN_EVENTS_PER_PARAMETER * p:
        out.append(f"only {events} {kind} for {p} coefficients ({events / p:.1f} per coefficient, "
                   f"fewer than {MIN_EVENTS_PER_PARAMETER}): estimates and tests may be unreliable")
    return tuple(out)
