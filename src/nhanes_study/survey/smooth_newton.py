"""The outer optimisation of a GAM's REML criterion over the log smoothing parameters.

Newton's method on rho = log(lambda), with the Hessian made positive definite, step
halving, long strides for smooths heading to a straight line (lambda -> infinity) or to
no penalty, and a scan of each log lambda for other local minima (docs/smooth.md, "More
than one local minimum"). Shared by the gaussian fit (smooth.py) and the binomial /
poisson fits (smooth_glm.py).

A *model* here is anything with

* ``model.evaluate(rho)`` -> a state with ``rho``, ``t`` (lambda_j tr(A^-1 S_j) per
  smooth), ``score(model)``, ``gradient(model)`` and ``hessian(model)`` (the criterion
  and its exact first and second derivatives in rho);
* ``model.quick_score(rho)`` -> the criterion alone (for the scan; inf where it fails);
* ``model.rank``: the rank of each smooth's penalty.
"""

from __future__ import annotations

import numpy as np

#: Newton stops when every |d REML / d log lambda| is below this (the criterion is O(n);
#: its gradient is computed exactly, to about 1e-11)
GRAD_TOL = 1e-8
#: ... or when the Newton step in log lambda is below this.
STEP_TOL = 1e-10
MAX_ITER = 200
#: Grid (in log lambda, around the starting value) scanned for each smoothing parameter
#: from Newton's answer: the REML criterion may have more than one local minimum in a
#: lambda, and Newton is restarted in every other basin found.
SCAN = np.arange(-8.0, 22.0, 1.0)
#: A grid point further above the current minimum than this is not worth a restart (a
#: basin's grid point lies within half a step of its minimum, where the criterion is at
#: most ~0.1 above it).
SCAN_MARGIN = 2.0
#: Relative rounding level of the criterion: another basin's minimum must beat the
#: current one by more than this (x |criterion|) to replace it, and a grid minimum must
#: stand out of its neighbours by as much. (The criterion is O(n); the basins met on
#: the real data differ by 1e-2 to 1e-1, its rounding in the flat tails is ~1e-6.)
NOISE = 1e-8
#: Rounds of scanning for other basins.
MAX_RESTARTS = 3
#: A smooth within this of its limit (edf of a straight line, or unpenalised) strides
#: MAX_STEP towards it.
TAIL = 0.05
#: Largest Newton step in any log lambda (mgcv's newton maxNstep).
MAX_STEP = 5.0
#: log lambda is kept within this distance of its starting value (lambda -> 0 or infinity
#: are the boundaries; at them the criterion is flat and the fit no longer moves).
RHO_RANGE = 30.0


def _other_basins(model, rho: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
    """Starting points in other basins of the criterion: for each smoothing parameter in
    turn (the others held at rho), the local minima of the criterion over the grid
    base + SCAN that are not next to rho's own value and within SCAN_MARGIN of the
    current minimum."""
    current = model.quick_score(rho)
    starts = []
    step = SCAN[1] - SCAN[0]
    for j in range(rho.size):
        grid = base[j] + SCAN
        trials = np.repeat(rho[None, :], grid.size, axis=0)
        trials[:, j] = grid
        prof = np.array([model.quick_score(t) for t in trials])
        left = np.concatenate([[np.inf], prof[:-1]])
        right = np.concatenate([prof[1:], [np.inf]])
        # a minimum must stand out of the rounding of the criterion (where a smooth has
        # become a straight line, or unpenalised, the profile is flat to rounding)
        noise = NOISE * abs(current)
        for i in np.flatnonzero((prof + noise < left) & (prof + noise < right) & np.isfinite(prof)):
            if abs(grid[i] - rho[j]) <= step:
                continue
            # at an end of the grid the criterion has flattened (lambda -> 0 or infinity):
            # the basin is worth a restart only if that point already beats the minimum
            limit = current - noise if i in (0, grid.size - 1) else current + SCAN_MARGIN
            if prof[i] < limit:
                starts.append(trials[i])
    return starts


def _newton(model, rho0: np.ndarray) -> tuple[_Penalised, int, bool]:
    """Minimise the profiled REML criterion over rho = log(lambda) by Newton's method.

    The Hessian is made positive definite (eigenvalues floored at their absolute value)
    so every step is a descent direction; a step longer than MAX_STEP is shortened and
    a step that does not lower the criterion is halved. A smoothing parameter running
    off to infinity (the smooth becomes a straight line: the criterion flattens) stops
    once its gradient is below GRAD_TOL or it is RHO_RANGE from its start.
    """
    rho = rho0.copy()
    lo, hi = rho0 - RHO_RANGE, rho0 + RHO_RANGE
    cur = model.evaluate(rho)
    value = cur.score(model)
    converged = False
    it = 0
    for it in range(1, MAX_ITER + 1):
        g = cur.gradient(model)
        # a coordinate pinned at its bound with the gradient pushing outward is done
        free = ~(((rho <= lo) & (g > 0)) | ((rho >= hi) & (g < 0)))
        if np.all(np.abs(g[free]) < GRAD_TOL):
            converged = True
            break
        H = cur.hessian(model)
        step = np.zeros_like(rho)
        Hf = H[np.ix_(free, free)]
        ev, vec = np.linalg.eigh(Hf)
        floor = max(np.abs(ev).max() * 1e-10, 1e-14)
        ev = np.maximum(np.abs(ev), floor)
        step[free] = -vec @ ((vec.T @ g[free]) / ev)
        big = np.abs(step).max()
        if big > MAX_STEP:
            step *= MAX_STEP / big
        # a smooth heading for a straight line (lambda -> inf: tr(A^-1 S_j) lambda_j -> rank)
        # or for no penalty (-> 0) sits where the criterion decays like exp(-|rho|) and
        # Newton crawls one unit a step: try striding MAX_STEP there first
        to_line = free & (g < 0) & (model.rank - cur.t < TAIL)
        to_free = free & (g > 0) & (cur.t < TAIL)
        attempts = []
        if to_line.any() or to_free.any():
            stride = step.copy()
            stride[to_line] = np.maximum(stride[to_line], MAX_STEP)
            stride[to_free] = np.minimum(stride[to_free], -MAX_STEP)
            attempts.append(stride)
        attempts.append(step)
        accepted = False
        for k_try, first in enumerate(attempts):
            step = first
            for _ in range(1 if k_try < len(attempts) - 1 else 60):
                trial_rho = np.clip(rho + step, lo, hi)
                trial = model.evaluate(trial_rho)
                tv = trial.score(model)
                if tv <= value:
                    accepted = True
                    break
                step = step / 2
            if accepted:
                break
        if not accepted:  # no step lowers the criterion: at its minimum to rounding
            converged = bool(np.all(np.abs(g[free]) < 1e3 * GRAD_TOL))
            break
        moved = np.abs(trial_rho - rho).max()
        rho, cur, value = trial_rho, trial, tv
        if moved < STEP_TOL:
            g = cur.gradient(model)
            converged = bool(np.all(np.abs(g[free]) < 1e3 * GRAD_TOL))
            break
    return cur, it, converged


def minimise_reml(model, rho0: np.ndarray):
    """Newton from rho0, then Newton again from every other basin the scan reveals,
    keeping the lowest minimum. Returns (state, iterations, converged)."""
    # Newton from the start; then Newton again from any other basin a scan of each
    # log lambda reveals, keeping the lowest minimum, until no basin improves on it
    cur, iterations, converged = _newton(model, rho0)
    for _ in range(MAX_RESTARTS):
        improved = False
        for start in _other_basins(model, cur.rho, rho0):
            other, its, ok = _newton(model, start)
            iterations += its
            if other.score(model) < cur.score(model) - NOISE * abs(cur.score(model)):
                cur, converged, improved = other, ok, True
        if not improved:
            break

    return cur, iterations, converged
