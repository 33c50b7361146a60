"""[profiles.*]: each profile's way of estimating (weights, variance, CIs, subgroups...)."""

from __future__ import annotations

from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import PROFILE_SETTINGS, Profile


def read_profiles(s: Section, names: tuple[str, ...]) -> tuple[Profile, ...]:
    out = []
    for name in names:
        if name not in s.data:
            s.fail(f"profile '{name}' is listed in [study].profiles but not defined; add [profiles.{name}]")
    for name in s.data:
        p = s.section(name)
        p.only(*PROFILE_SETTINGS)
        profile = Profile(name=name, **{k: p.get(k, str, choices=v) for k, v in PROFILE_SETTINGS.items()})
        _check_combination(p, profile)
        out.append(profile)
    return tuple(p for p in out if p.name in names)


def _check_combination(p: Section, profile: Profile) -> None:
    """Settings that contradict each other: the design's variance needs its weights and strata."""
    if profile.weights == "none" and profile.variance == "linearization":
        p.fail("weights = \"none\" cannot go with variance = \"linearization\": the design-based variance "
               "is that of the weighted estimator; use variance = \"model\" for an ordinary unweighted fit, "
               "or weights = \"as_is\"/\"pooled\" for a design-based one", "weights")
    if profile.ci == "t_design_df" and profile.variance != "linearization":
        p.fail("ci = \"t_design_df\" uses the design's degrees of freedom and needs variance = \"linearization\"; "
               "use ci = \"normal\"", "ci")
    if profile.subgroups == "subset_rows" and profile.variance == "linearization":
        p.fail("a design-based profile analyses subgroups as domains of the full design; use subgroups = \"domain\"",
               "subgroups")
    if profile.bootstrap == "psu_within_strata" and profile.variance != "linearization":
        p.fail("bootstrap = \"psu_within_strata\" resamples the design's PSUs within strata and needs "
               "variance = \"linearization\"; use bootstrap = \"rows\"", "bootstrap")
