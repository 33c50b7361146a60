"""Figures 2-5: fully adjusted smooth curves of each outcome on the exposure, overall and by group.

* ``paper`` (``curves = "gam"``): y ~ s(x, bs = "cr", k) + covariates, weighted, REML
  (survey/smooth.py, checked against mgcv); by group: s(x, by = group) + group + covariates.
* ``design`` (``curves = "natural_spline"``): y ~ ns(x, knots at the study's quantiles of the
  cohort's exposure) + covariates in the design-based regression; by group, a spline per
  level plus the group's main effect; band from the design-based covariance, ± t(design df).
  Quantiles that tied values make coincide or fall on the exposure's minimum or maximum are
  dropped (the distinct knots strictly inside its range are used; none: a straight line),
  with a warning on the curve.

Each outcome is modelled in its family: a binomial (Poisson) outcome's curve is on the log-odds
(log-rate) scale with its band, from mgcv's ``gam(family = binomial, method = "REML")`` on
``w / mean(w)`` (survey/smooth_glm.py) in ``paper`` and from ``svyglm(family = quasibinomial())``
with the same ns() basis in ``design``. The record's `effect` names the scale ("beta": the
outcome itself; "OR": log odds; "RR": log rate).

A curve is the fitted outcome (linear predictor) over a grid of the exposure (the group's own range) with every
other covariate's model-matrix column at its mean over the rows fitted.

Rows missing the outcome, the exposure or a covariate (a study that does not impute) are
left out: dropped in ``paper``, outside the domain in ``design`` (knots from the complete
cases); each curve record says how many (``n_dropped``).
"""

from __future__ import annotations

import numpy as np

from nhanes_study.analyses.complete_cases import complete_mask
from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.regressions import model_terms
from nhanes_study.spec import Study
from nhanes_study.survey.distributions import t_ppf
from nhanes_study.survey.glm import fit_design_glm
from nhanes_study.survey.smooth import CrSmooth, cr_smooth, fit_gam
from nhanes_study.survey.splines import natural_spline_basis, quantile_knots
from nhanes_study.survey.threshold import MIN_DESIGN_DF, MIN_N


def _grid(x: np.ndarray, points: int) -> np.ndarray:
    return np.linspace(float(np.min(x)), float(np.max(x)), points)


def _series(level, n, edf, grid, fit, se, z) -> dict:
    return {"level": level, "n": int(n), "edf": None if edf is None else float(edf),
            "x": grid.tolist(), "fit": fit.tolist(), "se": se.tolist(),
            "lower": (fit - z * se).tolist(), "upper": (fit + z * se).tolist()}


class _Shared:
    """What the curves of one profile build more than once, built once per call of
    :func:`curves`: the covariates' model matrix (over all rows, or with the levels held by
    some fitted rows) and a grouping variable's labels, the same for every outcome."""

    def __init__(self, ctx: ProfileContext):
        self.ctx = ctx
        self._matrices: dict = {}
        self._rows: dict = {}
        self._labels: dict = {}
        self._smooths: dict = {}

    def matrix(self, covariates: list[str], rows: np.ndarray | None = None):
        key = (tuple(covariates), None if rows is None else rows.tobytes())
        if key not in self._matrices:
            self._matrices[key] = self.ctx.matrix(covariates, rows=rows, intercept=False)
        return self._matrices[key]

    def fitted_rows(self, covariates: list[str], rows: np.ndarray) -> np.ndarray:
        """The rows `rows` of the covariates' matrix with the levels they hold (read-only)."""
        key = (tuple(covariates), rows.tobytes())
        if key not in self._rows:
            matrix = self.matrix(covariates, rows).matrix[rows]
            matrix.setflags(write=False)
            self._rows[key] = matrix
        return self._rows[key]

    def smooth(self, x: np.ndarray, rows: np.ndarray, k: int) -> CrSmooth:
        """The cr smooth of the exposure `x` over the rows `rows` (x = exposure[rows])."""
        key = (rows.tobytes(), k)
        if key not in self._smooths:
            self._smooths[key] = cr_smooth(x, k)
        return self._smooths[key]

    def labels(self, by: str) -> np.ndarray:
        """The grouping variable's label per row, as text."""
        if by not in self._labels:
            self._labels[by] = self.ctx.frame[by].astype(str).to_numpy().astype(str)
        return self._labels[by]


def _se(Xg: np.ndarray, vcov: np.ndarray) -> np.ndarray:
    """Standard error of each grid row's prediction Xg @ coef."""
    return np.sqrt(np.einsum("ij,jk,ik->i", Xg, vcov, Xg))


def _gam_curves(ctx, study, outcome, by, levels, covariates, points, keep, shared):
    """Weighted GAM on the complete cases `keep` (the paper profile drops the other rows)."""
    frame = ctx.frame
    y = frame[outcome].to_numpy(dtype=float)[keep]
    x = frame[study.exposure.variable].to_numpy(dtype=float)[keep]
    mm = shared.matrix(covariates, rows=keep) if covariates else None
    Z = shared.fitted_rows(covariates, keep) if covariates else None
    names = list(mm.names) if covariates else None  # so that a warning names the column
    weights = ctx.weights[keep]
    k = study.curves.basis_dimension
    family = ctx.family(outcome).base.name  # the GAM's likelihood family (its REML needs one)
    smooth = shared.smooth(x, keep, k) if np.all(np.isfinite(x)) else None  # (else fit_gam says so)
    if by is None:
        g = fit_gam(y, x, Z, weights, k=k, family=family, covariate_names=names, smooth=smooth)
        c = g.curve(_grid(x, points))
        return [_series(None, len(y), g.edf["all"], np.asarray(c["x"]),
                        np.asarray(c["fit"]), np.asarray(c["se"]), 1.96)], None, list(g.warnings)
    labels = shared.labels(by)[keep]
    g = fit_gam(y, x, Z, weights, k=k, by=labels, by_levels=levels, family=family, covariate_names=names,
                smooth=smooth)
    out = []
    for level in levels:
        rows = labels == level
        c = g.curve(_grid(x[rows], points), level=level)
        out.append(_series(level, rows.sum(), g.edf.get(level), np.asarray(c["x"]),
                           np.asarray(c["fit"]), np.asarray(c["se"]), 1.96))
    return out, None, list(g.warnings)


def _interior_knots(x: np.ndarray, probs, boundary: tuple[float, float]) -> tuple[np.ndarray, list[str]]:
    """The natural spline's interior knots: the distinct type-7 quantiles of x at `probs` that
    lie strictly inside `boundary` (x's range), and a warning naming the quantiles that tied
    values made coincide or fall on the minimum or maximum (none when every knot is kept).
    With no interior knot left the spline is a straight line (ns with 1 degree of freedom).

    >>> _interior_knots(np.array([1.0, 2, 2, 2, 2, 3]), [0.25, 0.5, 0.75], (1.0, 3.0))
    (array([2.]), ["the exposure's knot quantiles 0.25, 0.5, 0.75 all fall on 2 (tied values): the natural spline uses 1 interior knot instead of 3"])
    """
    requested = quantile_knots(x, probs)
    lo, hi = boundary
    if np.all((requested > lo) & (requested < hi)) and np.all(np.diff(requested) > 0):
        return requested, []
    parts = []
    for value in dict.fromkeys(requested.tolist()):
        ps = ", ".join(f"{p:g}" for p, q in zip(probs, requested) if q == value)
        several = sum(q == value for q in requested) > 1
        where = ("its minimum " if value <= lo else "its maximum " if value >= hi else "")
        if where or several:
            verb = ("all fall" if several and not where else "fall") if several else "falls"
            parts.append(f"quantile{'s' if several else ''} {ps} {verb} on {where}{value:.6g}")
    knots = np.unique(requested[(requested > lo) & (requested < hi)])
    used = (f"uses {len(knots)} interior knot{'s' if len(knots) != 1 else ''} instead of {len(requested)}"
            if len(knots) else f"has no interior knot instead of {len(requested)}: the curve is a "
            "straight line (ns with 1 degree of freedom)")
    return knots, [f"the exposure's knot {' and '.join(parts)} (tied values): the natural spline {used}"]


def _spline_curves(ctx, study, outcome, by, levels, covariates, points, keep, shared):
    """Design-based spline fit on the complete cases `keep` as a domain of the full design
    (knots, boundary, grids and covariate means from the complete cases)."""
    frame = ctx.frame
    y = np.where(keep, frame[outcome].to_numpy(dtype=float), 0.0)
    x_all = frame[study.exposure.variable].to_numpy(dtype=float)
    x = np.where(keep, x_all, np.nanmean(x_all[keep]))  # values outside the domain are ignored
    boundary = (float(x[keep].min()), float(x[keep].max()))
    knots, knot_warnings = _interior_knots(x[keep], study.curves.design_knot_quantiles, boundary)
    basis = natural_spline_basis(x, knots, boundary)
    mm = shared.matrix(covariates, rows=keep) if covariates else None
    Z = mm.matrix if covariates else np.zeros((len(y), 0))
    znames = list(mm.names) if covariates else []
    Z = np.where(keep[:, None], Z, 0.0)
    design = ctx.design if keep.all() else ctx.design.subset(keep)
    zbar = Z[keep].mean(axis=0)
    ones = np.ones((len(y), 1))
    nb = basis.shape[1]
    if by is None:
        X = np.column_stack([ones, basis, Z])
        names = ["(Intercept)"] + [f"ns{j + 1}" for j in range(nb)] + znames
        fit = fit_design_glm(y, X, names, design, ctx.fitting_family(outcome))
        z = float(t_ppf(0.975, fit.df))
        grid = _grid(x[keep], points)
        Xg = np.column_stack([np.ones(points), natural_spline_basis(grid, knots, boundary),
                              np.tile(zbar, (points, 1))])
        return ([_series(None, int(keep.sum()), None, grid, Xg @ fit.coef, _se(Xg, fit.vcov), z)], knots,
                knot_warnings + list(fit.warnings))
    labels = shared.labels(by)
    dummies = [(labels == lv).astype(float) for lv in levels]
    blocks = [basis * d[:, None] for d in dummies]
    X = np.column_stack([ones] + [d[:, None] for d in dummies[1:]] + blocks + [Z])
    names = (["(Intercept)"] + [f"{by}{lv}" for lv in levels[1:]]
             + [f"ns{j + 1}:{by}{lv}" for lv in levels for j in range(nb)]
             + znames)
    fit = fit_design_glm(y, X, names, design, ctx.fitting_family(outcome))
    z = float(t_ppf(0.975, fit.df))
    out = []
    for i, level in enumerate(levels):
        rows = (labels == level) & keep
        grid = _grid(x[rows], points)
        Xg = np.zeros((points, X.shape[1]))
        Xg[:, 0] = 1
        if i > 0:
            Xg[:, i] = 1
        start = len(levels) + i * nb
        Xg[:, start:start + nb] = natural_spline_basis(grid, knots, boundary)
        Xg[:, X.shape[1] - Z.shape[1]:] = zbar
        out.append(_series(level, rows.sum(), None, grid, Xg @ fit.coef, _se(Xg, fit.vcov), z))
    return out, knots, knot_warnings + list(fit.warnings)


def _warnings(ctx: ProfileContext, by: str | None, series: list[dict], k: int,
              keep: np.ndarray | None = None) -> list[str]:
    keep = np.ones(len(ctx.frame), dtype=bool) if keep is None else keep
    out = []
    for s in series:
        name = "the cohort" if s["level"] is None else f"{by} = {s['level']}"
        if s["n"] < MIN_N:
            out.append(f"only {s['n']} participants in {name} (fewer than {MIN_N}): its curve "
                       "and band are unreliable")
        if s["edf"] is not None and s["edf"] > k - 2:
            out.append(f"the smooth of {name} uses {s['edf']:.1f} of its {k - 1} degrees of freedom: "
                       "the basis dimension k may be too small for this curve")
        if ctx.profile.variance == "linearization" and s["level"] is not None:
            df = ctx.domain_df((ctx.frame[by] == s["level"]).to_numpy() & keep)
            if df < MIN_DESIGN_DF:
                out.append(f"only {df} design degrees of freedom in {name} (fewer than {MIN_DESIGN_DF}): "
                           "its design-based band is unstable")
    return out


def curves(ctx: ProfileContext, study: Study) -> list[dict]:
    spec = study.curves
    if spec is None:
        return []
    model = next(m for m in study.models if m.name == spec.model)
    method = "gam" if ctx.profile.curves == "gam" else "natural_spline"
    make = _gam_curves if method == "gam" else _spline_curves
    exposure = study.exposure.variable
    shared = _Shared(ctx)
    out = []
    for outcome in study.outcomes:
        for by in (None, *spec.by):
            covariates = [v for v in model_terms(study, model, drop=by) if v != exposure]
            matrix = shared.matrix(covariates).matrix if covariates else None
            keep = complete_mask(ctx.frame, [outcome, exposure], matrix)
            levels = None if by is None else [lv for lv in ctx.levels_present(by)
                                               if ((ctx.frame[by] == lv).to_numpy() & keep).any()]
            series, knots, fit_warnings = make(ctx, study, outcome, by, levels, covariates,
                                               spec.grid_points, keep, shared)
            warnings = _warnings(ctx, by, series, spec.basis_dimension, keep) + fit_warnings
            out.append({"profile": ctx.profile.name, "outcome": outcome, "by": by, "model": spec.model,
                        "method": method, "knots": None if knots is None else [float(k) for k in knots],
                        "series": series, "warnings": list(dict.fromkeys(warnings)),
                        "n_dropped": int((~keep).sum()), "effect": ctx.family(outcome).effect})
    return out


def scatter(frame, study: Study) -> dict:
    """The exposure and each outcome (as its family models it: 0/1 for an event) per participant."""
    x = frame[study.exposure.variable].to_numpy(dtype=float)
    return {o: {"x": x.tolist(), "y": frame[o].to_numpy(dtype=float).tolist()} for o in study.outcomes}
