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
        out.append(Profile(name=name, **{k: p.get(k, str, choices=v) for k, v in PROFILE_SETTINGS.items()}))
    return tuple(p for p in out if p.name in names)
