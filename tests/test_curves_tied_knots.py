"""Design-profile curves when tied exposure values make knot quantiles coincide or fall on the
exposure's minimum or maximum: the spline keeps the distinct knots strictly inside the range
(none: a straight line), the curve says so in its warnings, and the fit is R's svyglm with
splines::ns(x, knots = unique(interior quantiles), Boundary.knots = range(x)) on the same data."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from nhanes_study.analyses.context import ProfileContext
from nhanes_study.analyses.curves import curves
from nhanes_study.analyses.regressions import model_terms
from nhanes_study.cli import main
from nhanes_study.spec import default_study_path
from tests.study_frame import analysis_frame, r_frame, reference_study

OUTCOME = "lumbar_bmd"


def _study(quantiles):
    study = reference_study()
    return dataclasses.replace(study, curves=dataclasses.replace(study.curves, design_knot_quantiles=quantiles))


def _clipped(frame, exposure, low, high):
    """The frame with the exposure clipped to its own `low` and `high` quantiles (ties at both ends)."""
    x = frame[exposure].to_numpy(dtype=float)
    frame = frame.copy()
    frame[exposure] = np.clip(x, *np.quantile(x, [low, high]))
    return frame


# (name, knot quantiles, exposure clipped to these quantiles of itself or None, knots kept, warning)
CASES = [
    ("coincide", (0.5, 0.501, 0.502), None, 1,
     "the exposure's knot quantiles 0.5, 0.501, 0.502 all fall on {median} (tied values): "
     "the natural spline uses 1 interior knot instead of 3"),
    ("minimum", (0.1, 0.5, 0.9), (0.15, 1.0), 2,
     "the exposure's knot quantile 0.1 falls on its minimum {lo} (tied values): "
     "the natural spline uses 2 interior knots instead of 3"),
    ("all on the boundary", (0.1, 0.5, 0.9), (0.55, 0.85), 0,
     "the exposure's knot quantiles 0.1, 0.5 fall on its minimum {lo} and quantile 0.9 falls on "
     "its maximum {hi} (tied values): the natural spline has no interior knot instead of 3: the "
     "curve is a straight line (ns with 1 degree of freedom)"),
]


@pytest.fixture(scope="module")
def tied_curves(data_dir):
    out = {}
    base = analysis_frame(data_dir).frame
    for name, quantiles, clip, _, _ in CASES:
        study = _study(quantiles)
        frame = base if clip is None else _clipped(base, study.exposure.variable, *clip)
        ctx = ProfileContext.build(frame, study, study.profile("design"))
        out[name] = (study, frame, curves(ctx, study))
    return out


@pytest.mark.parametrize("name, quantiles, clip, n_knots, message", CASES, ids=[c[0] for c in CASES])
def test_tied_knot_quantiles_are_warned_and_dropped(tied_curves, name, quantiles, clip, n_knots, message):
    study, frame, records = tied_curves[name]
    x = frame[study.exposure.variable].to_numpy(dtype=float)
    assert len(set(np.quantile(x, quantiles))) < len(quantiles) or clip  # the case is what it says
    expected = message.format(lo=f"{x.min():.6g}", hi=f"{x.max():.6g}", median=f"{np.median(x):.6g}")
    design = [r for r in records if r["profile"] == "design"]
    assert design
    for record in design:
        assert len(record["knots"]) == n_knots
        assert all(x.min() < k < x.max() for k in record["knots"])
        assert expected in record["warnings"], record["warnings"]
        assert sum("knot quantile" in w for w in record["warnings"]) == 1


def test_all_knots_on_the_boundary_give_a_straight_line(tied_curves):
    _, _, records = tied_curves["all on the boundary"]
    for record in records:
        for s in record["series"]:
            slopes = np.diff(s["fit"]) / np.diff(s["x"])
            np.testing.assert_allclose(slopes, slopes[0], rtol=1e-9)


@pytest.mark.parametrize("name, by", [("coincide", None), ("coincide", "sex"), ("minimum", None),
                                      ("all on the boundary", None), ("all on the boundary", "sex")])
def test_tied_knot_curves_agree_with_svyglm_ns_unique_knots(tied_curves, r_oracle, name, by):
    study, frame, records = tied_curves[name]
    record = next(c for c in records if c["outcome"] == OUTCOME and c["by"] == by)
    model = next(m for m in study.models if m.name == study.curves.model)
    covariates = [v for v in model_terms(study, model, drop=by) if v != study.exposure.variable]
    data, factors = r_frame(frame)
    levels = [s["level"] for s in record["series"]]
    r = r_oracle("curves_ns.R", data, {
        "y": OUTCOME, "x": study.exposure.variable, "probs": list(study.curves.design_knot_quantiles),
        "by": by, "levels": levels if by else None, "covariates": covariates, "factors": factors,
        "points": study.curves.grid_points, "cycles": len(study.cycles),
        "weight": study.design.weight, "strata": study.design.strata, "psu": study.design.psu})
    np.testing.assert_array_equal(record["knots"], r["knots"])
    assert len(r["series"]) == len(record["series"])
    for ours, theirs in zip(record["series"], r["series"]):
        for field in ("x", "fit", "se", "lower", "upper"):
            np.testing.assert_allclose(ours[field], theirs[field], rtol=1e-8, atol=1e-12,
                                       err_msg=f"{name} {by} {ours['level']} {field}")


def test_run_with_coinciding_knot_quantiles_finishes_with_the_warning(data_dir, tmp_path, capsys):
    text = default_study_path().read_text()
    old = "design_knot_quantiles = [0.1, 0.5, 0.9]"
    assert old in text
    study_file = tmp_path / "tied.toml"
    study_file.write_text(text.replace(old, "design_knot_quantiles = [0.5, 0.501, 0.502]"))
    out = tmp_path / "out"
    assert main(["run", str(study_file), "--data-dir", str(data_dir), "--out", str(out), "--quiet",
                 "--no-render"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    doc = json.loads((out / "results.json").read_text())
    x = analysis_frame(data_dir).frame[reference_study().exposure.variable].to_numpy(dtype=float)
    knot = np.quantile(x, 0.5)
    assert np.all(np.quantile(x, [0.501, 0.502]) == knot)
    message = (f"the exposure's knot quantiles 0.5, 0.501, 0.502 all fall on {knot:.6g} (tied values): "
               "the natural spline uses 1 interior knot instead of 3")
    design = [c for c in doc["curves"] if c["profile"] == "design"]
    assert design and all(c["knots"] == [knot] and message in c["warnings"] for c in design)
    assert sum(w["message"] == message for w in doc["warnings"]) == len(design)


def test_interior_knots_docstring_example():
    import doctest

    from nhanes_study.analyses import curves as curves_module

    assert doctest.testmod(curves_module).attempted >= 1
    assert doctest.testmod(curves_module).failed == 0
