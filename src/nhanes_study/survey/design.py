"""A stratified cluster sample design and its Taylor-linearisation variance.

:class:`Design` is the one-stage ("ultimate cluster") with-replacement design that R's
``survey::svydesign(ids = ~psu, strata = ~strata, weights = ~w, nest = TRUE)`` builds, and
:meth:`Design.variance` is ``survey:::svyrecvar`` for it: for estimating functions (one row
per observation, one column per parameter), the PSU totals z_hi of stratum h are centred on
their stratum mean and

    V = sum_h  n_h / (n_h - 1)  sum_i (z_hi - zbar_h)(z_hi - zbar_h)'

with n_h the number of PSUs of stratum h in the *whole* design.

Domains (:meth:`Design.subset`) keep every row and zero the weights outside the domain;
this gives exactly what ``subset(design, ...)`` gives in survey 4.x (which drops the rows but
keeps each stratum's PSU count n_h, padding absent PSUs with zero totals), with
``options(survey.adjust.domain.lonely = FALSE)``, the default.

Strata with a single PSU ("lonely PSUs") follow ``options(survey.lonely.psu = ...)``:

* ``"fail"`` - refuse (here when the design is built, naming the stratum);
* ``"adjust"`` - the lone PSU's total is centred on zero (the grand mean of estimating
  functions) instead of its stratum mean, scale 1;
* ``"average"`` - the stratum is left out and the variance is multiplied by
  (strata) / (strata with more than one PSU), counting strata that hold domain rows;
* ``"remove"`` and ``"certainty"`` - the stratum contributes nothing (identical for a
  one-stage design, as in survey).

Nothing here knows about NHANES: inputs are plain arrays.
"""

from __future__ import annotations

import numpy as np

from nhanes_study.errors import DesignError

__all__ = ["Design", "LONELY_PSU", "pooled_weights", "check_unique_strata"]

#: The lonely-PSU policies, as survey's ``options(survey.lonely.psu = ...)``.
LONELY_PSU = ("fail", "adjust", "average", "remove", "certainty")


def _as_1d(values, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise DesignError(f"{name} must be one-dimensional (got shape {arr.shape})")
    if n is not None and arr.shape[0] != n:
        raise DesignError(f"{name} has {arr.shape[0]} values but the weights have {n}")
    return arr


def _codes(values, name: str, n: int) -> np.ndarray:
    """Integer codes 0..k-1 of the distinct values (in sorted order of the values)."""
    arr = _as_1d(values, name, n)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))
        raise DesignError(f"{name} is missing for {bad.size} row(s) (first at index {bad[0]}); "
                          f"every row needs a {name}")
    if arr.dtype == object:
        if any(v is None or (isinstance(v, float) and v != v) for v in arr):
            raise DesignError(f"{name} is missing for some rows; every row needs a {name}")
        arr = arr.astype(str)
    _, inverse = np.unique(arr, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


class Design:
    """A stratified, clustered, weighted sample (one stage, PSUs with replacement, nested).

    Parameters
    ----------
    weights : sampling weights, length n (zero allowed: such rows estimate nothing but
        keep their PSU in the design, as in survey).
    strata : stratum of each row (any labels); None: one stratum.
    psu : primary sampling unit of each row; relabelled within strata (``nest = TRUE``);
        None: each row is its own PSU.
    lonely_psu : one of :data:`LONELY_PSU`, as ``options(survey.lonely.psu = ...)``.

    Raises :class:`~nhanes_study.errors.DesignError` for negative or non-finite weights,
    missing strata or PSUs, an unknown policy, and (``lonely_psu="fail"``) a stratum with a
    single PSU.
    """

    def __init__(self, weights, strata=None, psu=None, *, lonely_psu: str = "fail"):
        w = np.asarray(weights, dtype=float)
        w = _as_1d(w, "weights")
        n = w.shape[0]
        bad = ~np.isfinite(w)
        if bad.any():
            idx = np.flatnonzero(bad)
            raise DesignError(f"weights are missing or not finite for {idx.size} row(s) "
                              f"(first at index {idx[0]}); every row needs a finite weight >= 0")
        neg = w < 0
        if neg.any():
            idx = np.flatnonzero(neg)
            raise DesignError(f"weights are negative for {idx.size} row(s) (first at index {idx[0]}, "
                              f"weight {w[idx[0]]!r}); sampling weights must be >= 0")
        if lonely_psu not in LONELY_PSU:
            raise DesignError(f"lonely_psu must be one of {', '.join(LONELY_PSU)} (got {lonely_psu!r})")
        self.n: int = n
        self.weights: np.ndarray = w
        self.lonely_psu: str = lonely_psu
        self.strata: np.ndarray = (np.zeros(n, dtype=np.int64) if strata is None
                                   else _codes(strata, "strata", n))
        if psu is None:
            self.psu = np.arange(n, dtype=np.int64)
        else:
            p = _codes(psu, "psu", n)
            # nest = TRUE: a PSU is a (stratum, psu) pair.
            self.psu = _codes(self.strata * (int(p.max(initial=0)) + 1) + p, "psu", n)
        self._strata_labels = None if strata is None else np.unique(_label_array(strata))
        self._domain = np.ones(n, dtype=bool)
        self._setup()
        if lonely_psu == "fail":
            lonely = np.flatnonzero(self._psus_per_stratum == 1)
            if lonely.size:
                labels = [self._stratum_label(h) for h in lonely[:5]]
                more = "" if lonely.size <= 5 else f" and {lonely.size - 5} more"
                raise DesignError(
                    f"stratum {', '.join(labels)}{more} has only one PSU, so its variance cannot be "
                    f"estimated; choose a lonely-PSU policy, e.g. lonely_psu=\"adjust\" (as R's "
                    f"options(survey.lonely.psu = \"adjust\"))")

    # ------------------------------------------------------------------ internals

    def _stratum_label(self, code: int) -> str:
        if self._strata_labels is None:
            return "(the only stratum)"
        return str(self._strata_labels[code])

    def _setup(self) -> None:
        """Row order by PSU, PSU -> stratum, PSUs per stratum (computed once)."""
        order = np.argsort(self.psu, kind="stable")
        self._order = order
        sorted_psu = self.psu[order]
        starts = np.flatnonzero(np.r_[True, sorted_psu[1:] != sorted_psu[:-1]]) if self.n else np.zeros(0, int)
        self._psu_starts = starts
        self.n_psu = starts.size
        psu_stratum = self.strata[order][starts]          # stratum of each PSU (PSUs nest in strata)
        self._psu_stratum = psu_stratum
        self.n_strata = int(self.strata.max(initial=-1)) + 1
        self._psus_per_stratum = np.bincount(psu_stratum, minlength=self.n_strata)
        # Each PSU's stratum size, lonely flag and scale n_h / (n_h - 1) (1 when lonely).
        nh = self._psus_per_stratum[psu_stratum].astype(float)
        self._psu_lonely = nh == 1
        self._any_lonely = bool(self._psu_lonely.any())
        self._psu_scale = np.where(self._psu_lonely, 1.0, nh / np.where(self._psu_lonely, 1.0, nh - 1.0))
        # Every PSU one row (no clustering): PSU totals are the rows themselves, reordered
        # only if the PSU codes are not already in row order.
        self._one_row_psus = self.n_psu == self.n
        self._in_row_order = bool(np.array_equal(order, np.arange(self.n)))

    def _copy(self) -> "Design":
        new = object.__new__(Design)
        new.__dict__.update(self.__dict__)
        return new

    # ------------------------------------------------------------------ API

    @property
    def domain(self) -> np.ndarray:
        """Boolean mask of the rows in the domain (all rows for a whole design)."""
        return self._domain.copy()

    def subset(self, mask) -> "Design":
        """The domain ``mask`` of this design: same rows, weights zeroed outside it.

        As ``subset(design, mask)`` in survey (a missing value in the mask counts as False).
        Subsetting a domain again intersects the domains.
        """
        m = np.asarray(mask)
        if m.ndim != 1 or m.shape[0] != self.n:
            raise DesignError(f"the domain mask must have one value per row ({self.n}), got shape {m.shape}")
        if m.dtype != bool:
            mf = m.astype(float)
            m = np.nan_to_num(mf, nan=0.0) != 0
        new = self._copy()
        new._domain = self._domain & m
        new.weights = np.where(new._domain, self.weights, 0.0)
        return new

    @property
    def degf(self) -> int:
        """Design degrees of freedom, as ``survey::degf``: distinct PSUs minus distinct strata
        among the rows with a nonzero weight (for a domain: the PSUs holding domain members)."""
        inset = self.weights != 0
        psus = np.count_nonzero(np.bincount(self.psu[inset], minlength=self.n_psu))
        strata = np.count_nonzero(np.bincount(self.strata[inset], minlength=self.n_strata))
        return int(psus - strata)

    def psu_totals(self, x: np.ndarray) -> np.ndarray:
        """Column totals of ``x`` (n x p) within each PSU (n_psu x p)."""
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if self.n_psu == 0:
            return np.zeros((0, x.shape[1]))
        if self._one_row_psus:  # a sum of one row is that row
            return x.copy() if self._in_row_order else x[self._order]
        return np.add.reduceat(x[self._order], self._psu_starts, axis=0)

    def psu_totals_scaled(self, x: np.ndarray, s: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``psu_totals(x * s[:, None])`` (the same numbers), x (n x p) scaled by row after
        it is put in PSU order: one n x p temporary instead of two. With `rows` (a boolean
        mask), the other rows count as 0 whatever x holds there (as if x were 0 there)."""
        x = np.asarray(x, dtype=float)
        s = np.asarray(s, dtype=float)
        if x.ndim != 2 or not x.flags.c_contiguous or self.n_psu == 0:
            if rows is not None:
                x = np.where(rows if x.ndim == 1 else rows[:, None], x, 0.0)
            return self.psu_totals(x * (s if x.ndim == 1 else s[:, None]))  # (the layout it gives)
        z = x.take(self._order, axis=0)
        if rows is not None:
            z[~rows[self._order]] = 0.0
        z *= s[self._order][:, None]
        return np.add.reduceat(z, self._psu_starts, axis=0)

    def variance(self, scores: np.ndarray) -> np.ndarray:
        """``survey:::svyrecvar(scores, ...)``: the linearisation variance of the column totals
        of ``scores`` (n x p; rows outside the domain must be 0). Returns p x p."""
        x = np.asarray(scores, dtype=float)
        one = x.ndim == 1
        if one:
            x = x[:, None]
        if x.shape[0] != self.n:
            raise DesignError(f"scores have {x.shape[0]} rows, the design {self.n}")
        # Rows that are their own PSUs, in order, are their own totals (read, not copied).
        z = x if self._one_row_psus and self._in_row_order else self.psu_totals(x)
        v = self.variance_of_totals(z)
        return v[0, 0] if one else v

    def variance_of_totals(self, z: np.ndarray) -> np.ndarray:
        """:meth:`variance` from the PSU totals ``z`` (n_psu x p, as :meth:`psu_totals`)."""
        z = np.asarray(z, dtype=float)
        h = self._psu_stratum
        if self.n_strata == 1 and z.shape[0]:
            # One stratum: its total summed in PSU order, as np.add.at below does (a running
            # sum; + 0.0 gives the sum's zero the sign add.at's 0.0 start gives it).
            sums = np.cumsum(z, axis=0)[-1:] + 0.0
            means = sums / np.maximum(self._psus_per_stratum, 1)[:, None]
            centred = z - means                                   # every PSU in stratum 0
        else:
            sums = np.zeros((self.n_strata, z.shape[1]))
            np.add.at(sums, h, z)
            means = sums / np.maximum(self._psus_per_stratum, 1)[:, None]
            centred = z - means[h]
        lonely = self._psu_lonely
        scale = self._psu_scale
        factor = 1.0
        if self._any_lonely:
            policy = self.lonely_psu
            if policy == "adjust":
                centred = np.where(lonely[:, None], z, centred)   # centred on 0, not its own mean
            elif policy in ("remove", "certainty"):
                centred = np.where(lonely[:, None], 0.0, centred)
            elif policy == "average":
                centred = np.where(lonely[:, None], 0.0, centred)
                present = np.zeros(self.n_strata, dtype=bool)     # strata holding domain rows
                present[self.strata[self._domain]] = True
                lonely_strata = self._psus_per_stratum == 1
                nstrat = int(present.sum())
                nok = int((present & ~lonely_strata).sum())
                factor = nstrat / nok if nok else np.nan
            else:  # "fail": refused when built; kept for safety
                raise DesignError("a stratum has only one PSU; use lonely_psu=\"adjust\"")
        return (centred * scale[:, None]).T @ centred * factor


def _label_array(values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == object:
        arr = arr.astype(str)
    return arr.reshape(-1)


def pooled_weights(weights, cycle) -> np.ndarray:
    """Weights for pooled cycles: each 2-year weight divided by the number of distinct cycles
    among the rows (NCHS's rule for combining 2-year cycles, e.g. WTMEC2YR / 3 for 2013-2018).
    """
    w = np.asarray(weights, dtype=float).reshape(-1)
    c = _label_array(cycle)
    if c.shape[0] != w.shape[0]:
        raise DesignError(f"cycle has {c.shape[0]} values but the weights have {w.shape[0]}")
    if w.size == 0:
        return w.copy()
    k = np.unique(c).size
    return w / k


def check_unique_strata(strata, cycle) -> None:
    """Raise DesignError if a stratum code appears in more than one cycle (pooling cycles is
    only valid when strata are distinct across cycles, as NHANES's SDMVSTRA are)."""
    s = _label_array(strata)
    c = _label_array(cycle)
    if s.shape[0] != c.shape[0]:
        raise DesignError(f"strata has {s.shape[0]} values but cycle has {c.shape[0]}")
    if s.size == 0:
        return
    _, s_code = np.unique(s, return_inverse=True)
    _, c_code = np.unique(c, return_inverse=True)
    pairs = np.unique(np.stack([s_code.reshape(-1), c_code.reshape(-1)]), axis=1)
    counts = np.bincount(pairs[0], minlength=int(s_code.max()) + 1)
    shared = np.flatnonzero(counts > 1)
    if shared.size:
        labels = np.unique(s)[shared]
        first = labels[0]
        cycles = np.unique(c[s == first])
        raise DesignError(
            f"{shared.size} stratum code(s) appear in more than one cycle (first: stratum {first} in "
            f"cycles {', '.join(map(str, cycles))}); strata must be distinct across pooled cycles "
            f"(renumber them within cycle)")
