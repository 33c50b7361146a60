"""Threshold effect analysis without R: search mechanics, bootstrap, warnings, results."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pandas as pd
import pytest

from nhanes_study.errors import DesignError
from nhanes_study.survey import threshold as th
from nhanes_study.survey import threshold_bootstrap, threshold_fit
from nhanes_study.survey.threshold import (
    bootstrap_turning_point,
    hinge_columns,
    quantile7,
    search_candidates,
    threshold_effect,
    threshold_search,
)


def kinked(n=400, seed=1, kink=12.0, noise=0.05):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(13.5, 1.5, n), 1)
    z = rng.normal(size=n)
    y = 1 - 0.1 * np.minimum(x - kink, 0) + 0.05 * np.maximum(x - kink, 0) + 0.1 * z \
        + rng.normal(0, noise, n)
    w = np.exp(rng.normal(0, 0.5, n))
    return y, x, z[:, None], w


def design(n_strata=15, psu_per=2, rows_per_psu=20, seed=2):
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(n_strata), psu_per * rows_per_psu)
    psu = np.tile(np.repeat(np.arange(1, psu_per + 1), rows_per_psu), n_strata)
    n = strata.size
    y, x, z, w = kinked(n=n, seed=seed)
    return y, x, z, w, strata, psu


# ---------------------------------------------------------------- search


def test_quantile7_is_r_type_7():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 21, 101, 363):
        x = np.round(rng.normal(size=n), 1)
        np.testing.assert_allclose(quantile7(x, [0.05, 0.5, 0.95]),
                                   np.quantile(x, [0.05, 0.5, 0.95]), rtol=1e-14)
    # hand check: n = 21 -> index 1 + 20 * 0.05 = 2, the second smallest value exactly
    assert quantile7(np.arange(21.0), [0.05])[0] == 1.0


def test_candidates_are_distinct_observed_values_in_p5_p95():
    x = np.array([1, 2, 2, 3, 4, 5, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 50.0])
    cand, (lo, hi) = search_candidates(x)
    assert lo == 2.0 and hi == 17.0  # 1 + 20 * 0.05 = 2nd, 1 + 20 * 0.95 = 20th value
    assert list(cand) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]


def test_hinge_columns():
    lo, hi = hinge_columns([10.0, 12.0, 13.5], 12.0)
    assert list(lo) == [-2.0, 0.0, 0.0] and list(hi) == [0.0, 0.0, 1.5]


def test_exact_search_equals_brute_force_two_column_fits():
    y, x, z, w = kinked()
    s = threshold_search(y, x, z, w)
    X0 = np.column_stack([np.ones_like(x), z])
    rss = []
    for K in s.candidates:
        lo, hi = hinge_columns(x, K)
        rss.append(th._fit(np.column_stack([X0, lo, hi]), y, w)[2])
    np.testing.assert_allclose(s.rss, rss, rtol=1e-10)
    assert s.turning_point == s.candidates[int(np.argmin(rss))]
    assert abs(s.turning_point - 12.0) <= 0.2


def test_weights_scale_free_and_domain_equals_subset():
    y, x, z, w = kinked()
    a = threshold_effect(y, x, z, w, bootstrap=None, davies=False)
    b = threshold_effect(y, x, z, w * 1e4, bootstrap=None, davies=False)
    assert a.turning_point == b.turning_point
    np.testing.assert_allclose(a.below.estimate, b.below.estimate, rtol=1e-10)
    np.testing.assert_allclose(a.lrt, b.lrt, rtol=1e-8)
    # a domain: rows outside may be missing, the result is that of the subset
    dom = np.arange(x.size) % 3 != 0
    y2 = y.copy()
    y2[~dom] = np.nan
    c = threshold_effect(y2, x, z, w, domain=dom, bootstrap=None, davies=False)
    d = threshold_effect(y[dom], x[dom], z[dom], w[dom], bootstrap=None, davies=False)
    assert c.to_dict() == d.to_dict()


def test_lrt_is_n_log_rss_ratio():
    y, x, z, w = kinked()
    r = threshold_effect(y, x, z, w, bootstrap=None, davies=False)
    s = r.search
    np.testing.assert_allclose(r.lrt, r.n * np.log(s.rss_linear / s.rss[s.index]), rtol=1e-9)


def test_bad_inputs_raise():
    y, x, z, w = kinked(n=50)
    y[0] = np.nan
    with pytest.raises(DesignError, match="missing"):
        threshold_effect(y, x, z, w)
    y, x, z, w = kinked(n=50)
    w[3] = 0
    with pytest.raises(DesignError, match="weight"):
        threshold_effect(y, x, z, w)
    with pytest.raises(DesignError, match="rank deficient"):
        threshold_effect(*kinked(n=80)[:2], np.ones((80, 1)), bootstrap=None)


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_deterministic_by_seed():
    y, x, z, w = kinked()
    a = bootstrap_turning_point(y, x, z, w, replicates=200, seed=42)
    b = bootstrap_turning_point(y, x, z, w, replicates=200, seed=42)
    c = bootstrap_turning_point(y, x, z, w, replicates=200, seed=43)
    assert a == b
    assert a.values != c.values
    assert a.ci_low <= a.ci_high and a.succeeded == 200


def _searches_by_replicate(y, x, Z, w, mult, fac):
    """For each replicate: threshold_search on its rows, each repeated as often as drawn and
    weighted w * fac / mult per copy, with the columns constant on those rows left out (as
    glm aliases them). Yields (K, which columns were kept)."""
    for b in range(mult.shape[0]):
        m = mult[b].astype(int)
        keep = np.repeat(np.arange(x.size), m)
        per_copy = np.divide(fac[b], mult[b], out=np.zeros_like(w), where=m > 0)
        cols = Z[keep]
        present = cols.std(axis=0) > 0
        yield threshold_search(y[keep], x[keep], cols[:, present], (w * per_copy)[keep]).turning_point, present


@pytest.mark.parametrize("scheme", ["rows", "psu"])
def test_vectorised_replicates_equal_a_loop_of_searches(scheme):
    """Every replicate K equals threshold_search run on that replicate's rows (repeated)."""
    y, x, z, w, strata, psu = design()
    data = th._prepare(y, x, z, w)
    _, mult, fac, _ = th._draws(data, replicates=60, seed=5, strata=strata, psu=psu,
                                scheme=scheme)
    K, _ = th._replicate_k(y, x, z, w, mult, fac)
    for b, (k, present) in enumerate(_searches_by_replicate(y, x, z, w, mult, fac)):
        assert present.all()  # (no covariate is constant here)
        assert K[b] == k, b


def test_replicates_missing_a_rare_covariate_level_still_give_k():
    """A dummy of a level held by 3 rows is all zero in many replicates. As glm would (NA for
    the aliased column), such a replicate is fitted without it: K equals the search on that
    replicate's rows with the empty column left out, and no replicate is thrown away."""
    y, x, z, w = kinked(n=300, seed=4)
    rare = np.zeros(300)
    rare[[5, 77, 190]] = 1.0
    zz = np.column_stack([z, rare])
    data = th._prepare(y, x, zz, w)
    _, mult, fac, _ = th._draws(data, replicates=80, seed=3, strata=None, psu=None, scheme="rows")
    K, _ = th._replicate_k(y, x, zz, w, mult, fac)
    missing = 0
    for b, (k, present) in enumerate(_searches_by_replicate(y, x, zz, w, mult, fac)):
        missing += int(not present[1])
        assert K[b] == k, b
    assert missing > 0  # the case under test happened
    boot = bootstrap_turning_point(y, x, zz, w, replicates=200, seed=3)
    assert boot.succeeded == 200


def test_replicates_with_aliased_covariates_take_the_pseudo_inverse():
    """Two rare dummies held by the same rows are equal in every replicate that holds those
    rows (aliased, not absent) and constant in the others: both kinds of replicate give the
    K of a search on their rows with one copy of the column (and none when absent)."""
    y, x, z, w = kinked(n=300, seed=6)
    rare = np.zeros(300)
    rare[[11, 120, 250]] = 1.0
    zz = np.column_stack([z, rare, rare])
    data = th._prepare(y, x, zz[:, :-1], w)
    _, mult, fac, _ = th._draws(data, replicates=60, seed=8, strata=None, psu=None, scheme="rows")
    K, _ = th._replicate_k(y, x, zz, w, mult, fac)
    held = 0
    for b, (k, present) in enumerate(_searches_by_replicate(y, x, zz[:, :-1], w, mult, fac)):
        held += int(present[-1])
        assert K[b] == k, b
    assert 0 < held < 60  # both cases happened


def test_gram_solve_equals_the_pseudo_inverse_on_the_fixed_part():
    """The plain inverse (absent columns dropped) and the pseudo-inverse give the same
    projections of the hinge cross-products, replicate by replicate."""
    rng = np.random.default_rng(1)
    n, p, b = 40, 6, 30
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 2)), np.zeros(n)])
    X[:3, -1] = 1.0  # a rare level
    v = rng.exponential(size=(b, n))
    v[: b // 2, :3] = 0.0  # absent from half of the replicates
    Xc = X - X.mean(axis=0)
    G = np.einsum("bi,ip,iq->bpq", v, Xc, Xc)
    rhs = np.einsum("bi,ip,ik->bpk", v, Xc, rng.normal(size=(n, 4)))
    absent = np.zeros((b, p), bool)
    absent[: b // 2, -1] = True
    sol, ok = threshold_bootstrap._solve_gram(G, rhs, absent)
    ref, ok_ref = threshold_bootstrap._pinv_solve(G, rhs)
    assert ok.all() and ok_ref.all()
    np.testing.assert_allclose(np.einsum("bpk,bpq->bqk", rhs, sol),
                               np.einsum("bpk,bpq->bqk", rhs, ref), rtol=1e-9, atol=0)


@pytest.mark.parametrize("scheme", ["rows", "psu"])
def test_replicates_drawn_block_by_block_are_the_replicates_drawn_at_once(scheme):
    """The search takes its replicates a block at a time (no (B, n) array held whole): the
    K's are those of the same replicates drawn all at once, whatever the block size."""
    y, x, z, w, strata, psu = design()
    data = th._prepare(y, x, z, w)
    _, mult, fac, _ = th._draws(data, replicates=90, seed=21, strata=strata, psu=psu, scheme=scheme)
    K_all, edge_all = th._replicate_k(y, x, z, w, mult, fac)
    for chunk_elems in (1, 5_000, 10 ** 9):  # one replicate per block, a few, all
        _, draws, _ = threshold_bootstrap._replicates(data, replicates=90, seed=21, strata=strata,
                                                      psu=psu, scheme=scheme)
        K, edge = th._replicate_k(data.y, data.x, data.Z, data.w, draws, chunk_elems=chunk_elems)
        assert K.tobytes() == K_all.tobytes() and (edge == edge_all).all()
    boot = bootstrap_turning_point(y, x, z, w, replicates=90, seed=21,
                                   **({"strata": strata, "psu": psu} if scheme == "psu" else {}))
    assert boot.values == tuple(float(k) for k in K_all)


def test_replicates_without_factors_weigh_by_their_multiplicities():
    y, x, z, w = kinked()
    data = th._prepare(y, x, z, w)
    _, mult, fac, _ = th._draws(data, replicates=40, seed=2, strata=None, psu=None, scheme="rows")
    K, edge = th._replicate_k(y, x, z, w, mult)
    K_fac, edge_fac = th._replicate_k(y, x, z, w, mult, fac)
    assert K.tobytes() == K_fac.tobytes() and (edge == edge_fac).all()


def test_row_replicates_must_be_drawn_in_order():
    draws = threshold_bootstrap._RowReplicates(10, 5, np.random.default_rng(0))
    draws.block(0, 4, np.arange(5))
    with pytest.raises(RuntimeError, match="in order"):
        draws.block(6, 10, np.arange(5))


def test_psu_resampling_keeps_strata():
    _, _, _, _, strata, psu = design(n_strata=10, psu_per=3)
    mult, fac, singletons = th._psu_factors(strata, psu, 100, np.random.default_rng(0))
    assert singletons == 0
    for h in np.unique(strata):
        rows = strata == h
        first_rows = [np.flatnonzero(rows & (psu == j))[0] for j in (1, 2, 3)]
        draws = mult[:, first_rows]
        assert (draws.sum(axis=1) == 2).all()  # n_h - 1 PSUs drawn in every stratum
        # every row of a PSU shares its PSU's draw; factor = draws * n_h / (n_h - 1)
        for j in (1, 2, 3):
            block = mult[:, rows & (psu == j)]
            assert (block == block[:, :1]).all()
        np.testing.assert_allclose(fac[:, first_rows], draws * 1.5)


def test_ci_collapses_without_resampling_variation():
    """PSUs that are identical copies within each stratum: every replicate is the data."""
    y, x, z, w = kinked(n=200, seed=9)
    strata = np.repeat(np.arange(20), 10)
    y2, x2, z2, w2 = (np.concatenate([a, a]) for a in (y, x, z, w))
    strata2 = np.concatenate([strata, strata])
    psu2 = np.repeat([1, 2], 200)
    full = threshold_search(y2, x2, z2, w2).turning_point
    b = bootstrap_turning_point(y2, x2, z2, w2, replicates=300, seed=1, strata=strata2,
                                psu=psu2)
    assert b.scheme == "psu"
    assert b.ci_low == b.ci_high == full and b.se == 0.0


def test_psu_bootstrap_of_a_domain_uses_the_full_design():
    y, x, z, w, strata, psu = design(n_strata=15, rows_per_psu=30)
    dom = x > np.quantile(x, 0.2)
    x_nan = np.where(dom, x, np.nan)
    a = bootstrap_turning_point(y, x_nan, z, w, domain=dom, strata=strata, psu=psu,
                                replicates=100, seed=3)
    assert a.succeeded == 100


def test_bootstrap_is_vectorised(monkeypatch):
    y, x, z, w = kinked(n=3000, seed=4)
    # no per-replicate search: the QR path is never entered during the bootstrap
    data = th._prepare(y, x, z, w)
    per_replicate = lambda *a, **k: pytest.fail("per-replicate search")  # noqa: E731
    monkeypatch.setattr(threshold_fit, "_gains", per_replicate)
    monkeypatch.setattr(threshold_bootstrap, "_gains", per_replicate, raising=False)
    t0 = time.perf_counter()
    b, _ = th._bootstrap(data, replicates=1000, seed=0, strata=None, psu=None, scheme=None,
                         level=0.95, probs=(0.05, 0.95))
    elapsed = time.perf_counter() - t0
    assert b.succeeded == 1000
    assert elapsed < 10, f"1,000 replicates on 3,000 rows took {elapsed:.1f} s"


# ---------------------------------------------------------------- warnings and results


def test_warnings_for_small_groups_edges_and_design_df():
    y, x, z, w = kinked(n=60, seed=2)
    r = threshold_effect(y, x, z, w, bootstrap=50, seed=1, design_df=8)
    text = " | ".join(r.warnings)
    assert "only 60 observations" in text
    assert "design degrees of freedom" in text
    # the true kink lies above the 95th percentile: the search stops at its upper end
    rng = np.random.default_rng(0)
    x = np.round(rng.uniform(10, 16, 500), 1)
    y = 0.1 * x + 5 * np.maximum(x - 15.9, 0) + rng.normal(0, 0.01, 500)
    r = threshold_effect(y, x, bootstrap=None)
    assert any("end of the search range" in m for m in r.warnings)
    # a clean large sample: no warnings
    y, x, z, w = kinked(n=1000, seed=3)
    assert threshold_effect(y, x, z, w, bootstrap=200, seed=1, design_df=30).warnings == ()


def test_singleton_strata_are_reported():
    y, x, z, w, strata, psu = design()
    psu = psu.copy()
    psu[strata == 0] = 1
    r = threshold_effect(y, x, z, w, strata=strata, psu=psu, bootstrap=50, seed=1)
    assert any("single PSU" in m for m in r.warnings)


def test_result_is_immutable_plain_json_and_tidy():
    y, x, z, w = kinked()
    r = threshold_effect(y, x, z, w, bootstrap=100, seed=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.turning_point = 0.0
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    assert type(d["below"]["estimate"]) is float and d["bootstrap"]["seed"] == 7
    t = r.tidy()
    assert isinstance(t, pd.DataFrame)
    assert list(t["term"]) == ["linear", "below", "above", "turning_point", "lrt", "davies"]
    assert t.set_index("term").loc["below", "ci_low"] == r.below.ci_low
    np.testing.assert_allclose(r.below.ci_high - r.below.estimate, 1.96 * r.below.se)


def test_psu_draws_on_the_domain_rows_equal_the_full_draws_sliced():
    """Draws made for a domain's rows only are the full design's draws (same seed, same
    random stream) restricted to those rows: the replicates, and so K, are unchanged."""
    y, x, z, w, strata, psu = design(n_strata=10, psu_per=3)
    domain = np.zeros(x.size, bool)
    domain[::3] = True
    full_mult, full_fac, full_single = th._psu_factors(strata, psu, 50, np.random.default_rng(11))
    rows = np.flatnonzero(domain)
    mult, fac, single = th._psu_factors(strata, psu, 50, np.random.default_rng(11), rows=rows)
    assert mult.shape == (50, rows.size) and single == full_single
    assert mult.tobytes() == full_mult[:, rows].tobytes()
    assert fac.tobytes() == full_fac[:, rows].tobytes()
    data = th._prepare(y, x, z, w, domain)
    _, dmult, dfac, _ = th._draws(data, replicates=50, seed=11, strata=strata, psu=psu, scheme="psu")
    assert dmult.tobytes() == full_mult[:, rows].tobytes()
    assert dfac.tobytes() == full_fac[:, rows].tobytes()
