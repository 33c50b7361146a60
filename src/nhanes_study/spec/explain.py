"""[explain]: the declared space of analytic choices a specification search explores.

The section lives in a file of its own that names the study it explains
(``study = "../hgb_bmd.toml"``, relative to that file), or in the study file itself (then
without ``study``). Every key is optional; a dimension not given has the study's own choice
as its only option. docs/explain.md documents each key.

Example::

    >>> from nhanes_study.spec.explain import EXPOSURE_OPTION, parse_exposure_option
    >>> parse_exposure_option("per 10"), parse_exposure_option("log2")
    (('identity', 10.0), ('log2', 1.0))
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from nhanes_study.errors import SpecError
from nhanes_study.spec.load import load_study
from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import Study

WEIGHTS = ("as_is", "pooled", "none")
VARIANCE = ("model", "linearization")
MISSING = ("mean", "none")
CATEGORICAL_FORMS = ("factor", "code", "index")
EXPOSURE_OPTION = re.compile(r"^(?:per\s+(sd|[0-9]*\.?[0-9]+(?:e-?[0-9]+)?)|(log|log2|log10))$")
KEYS = ("study", "seed", "max_specifications", "closest", "weights", "variance", "missing", "exclusions",
        "cycles", "exposure", "drop_covariates", "categorical")


@dataclass(frozen=True)
class ExplainSpace:
    """The options of every dimension of the search, each a tuple (the first is listed first)."""

    seed: int
    max_specifications: int
    closest: int
    weights: tuple[str, ...]
    variance: tuple[str, ...]
    missing: tuple[str, ...]
    exclusions: tuple[str, ...]             # labels of the study's exclusions switched on / off
    cycles: tuple[tuple[str, ...], ...]     # subsets of the study's cycles
    exposure: tuple[str, ...]               # "per 1", "per 10", "per sd", "log", "log2", "log10"
    drop_covariates: tuple[tuple[str, ...], ...]
    categorical: tuple[tuple[str, tuple[str, ...]], ...]  # (variable, its forms)

    def as_dict(self) -> dict:
        return {"seed": self.seed, "max_specifications": self.max_specifications, "closest": self.closest,
                "weights": list(self.weights), "variance": list(self.variance), "missing": list(self.missing),
                "exclusions": list(self.exclusions), "cycles": [list(c) for c in self.cycles],
                "exposure": list(self.exposure), "drop_covariates": [list(d) for d in self.drop_covariates],
                "categorical": {v: list(f) for v, f in self.categorical}}


def parse_exposure_option(text: str) -> tuple[str, float | str]:
    """("identity" | "log" | "log2" | "log10", per): the transform and the units per slope."""
    m = EXPOSURE_OPTION.match(text.strip())
    if not m:
        raise ValueError(text)
    if m.group(2):
        return m.group(2), 1.0
    return "identity", ("sd" if m.group(1) == "sd" else float(m.group(1)))


def load_explain(path: str | Path, space: str | Path | None = None) -> tuple[Study, ExplainSpace]:
    """The study and its search space: from `space` (a file with [explain]) when given, else
    from `path`, which is a study file with an [explain] section or a space file naming its study."""
    path = Path(path)
    source = Path(space) if space is not None else path
    data = _read_toml(source)
    if "explain" not in data:
        raise SpecError(f"{source}: no [explain] section; declare the choices to search there "
                        "(docs/explain.md), or give a space file with --space")
    section = Section(source, "[explain]", data["explain"])
    section.only(*KEYS)
    if "study" in section.data:
        named = (source.parent / section.get("study", str)).resolve()
        if space is not None and "study" not in data and named != path.resolve():
            section.fail(f"names the study {named}, but the command was given {path}; give one of them", "study")
        study_path = named if "study" not in data else source
    elif "study" in data:  # a study file with its own [explain]
        study_path = source
    elif space is not None:
        study_path = path
    else:
        section.fail("is required: the study file whose [[published]] numbers are explained, relative "
                     "to this file (study = \"../hgb_bmd.toml\")", "study")
    study = load_study(study_path)
    return study, read_space(section, study)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found; give the path of a .toml file with an [explain] section") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None


def _choices(s: Section, key: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    values = s.get_list(key, str, default=list(default), min_len=1)
    for v in values:
        if v not in allowed:
            s.fail(f"'{v}' is not one of: {', '.join(allowed)}", key)
    if len(set(values)) != len(values):
        s.fail("lists an option twice", key)
    return tuple(values)


def read_space(s: Section, study: Study) -> ExplainSpace:
    """Validate [explain] against the study: names it uses must be the study's."""
    seed = s.get("seed", int, study.seed)
    max_specs = s.get("max_specifications", int, 2000)
    if max_specs < 1:
        s.fail("must be at least 1", "max_specifications")
    closest = s.get("closest", int, 20)
    if closest < 1:
        s.fail("must be at least 1", "closest")
    first = study.profiles[0]
    weights = _choices(s, "weights", WEIGHTS, (first.weights,))
    variance = _choices(s, "variance", VARIANCE, (first.variance,))
    missing = _choices(s, "missing", MISSING, (study.missing_continuous,))
    labels = [e.label for e in study.exclusions]
    exclusions = s.get_list("exclusions", str, default=[])
    for label in exclusions:
        if label not in labels:
            s.fail(f"'{label}' is not the label of one of the study's [[exclusions]]: {'; '.join(labels)}",
                   "exclusions")
    cycles = _cycle_sets(s, study)
    exposure = s.get_list("exposure", str, default=["per 1"], min_len=1)
    for option in exposure:
        try:
            parse_exposure_option(option)
        except ValueError:
            s.fail(f"'{option}' is not an exposure option: \"per K\" (K > 0 units), \"per sd\", \"log\", "
                   "\"log2\" or \"log10\"", "exposure")
        if option.startswith("per") and option.split()[1] != "sd" and float(option.split()[1]) <= 0:
            s.fail(f"'{option}': K must be above 0", "exposure")
    drops = _drop_sets(s, study)
    categorical = _categorical(s, study)
    if "linearization" in variance and weights == ("none",):
        s.fail("weights = [\"none\"] cannot go with variance \"linearization\" (the design-based variance is "
               "that of the weighted estimator): no specification is left; add \"as_is\" or \"pooled\"", "variance")
    if not any(p.table == "table2" and p.statistic == "beta" and p.beta is not None and p.ci is not None
               and p.term is None for p in study.published):
        raise SpecError(f"{study.path}: [[published]] has no Table 2 estimate with beta and ci to explain; "
                        "add the publication's Table 2 values (docs/study-file.md)")
    for name, outcome in getattr(study, "outcome_specs", {}).items():  # [[outcomes]] family, when declared
        if getattr(outcome, "family", "gaussian") != "gaussian":
            raise SpecError(f"{study.path}: outcome '{name}' is fitted as {outcome.family}; the specification "
                            "search fits linear (gaussian) outcomes only")
    return ExplainSpace(seed, max_specs, closest, weights, variance, missing, tuple(exclusions), cycles,
                        tuple(exposure), drops, categorical)


def _cycle_sets(s: Section, study: Study) -> tuple[tuple[str, ...], ...]:
    if "cycles" not in s.data:
        return (tuple(study.cycles),)
    raw = s.get("cycles", list)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, list) or not item or not all(isinstance(c, str) for c in item):
            s.fail(f"item {i + 1} must be a non-empty list of cycles, such as [\"2013-2014\", \"2015-2016\"]",
                   "cycles")
        unknown = [c for c in item if c not in study.cycles]
        if unknown:
            s.fail(f"item {i + 1}: {', '.join(unknown)} not among the study's cycles ({', '.join(study.cycles)})",
                   "cycles")
        out.append(tuple(c for c in study.cycles if c in item))
    if not out:
        s.fail("needs at least 1 item", "cycles")
    return tuple(out)


def _drop_sets(s: Section, study: Study) -> tuple[tuple[str, ...], ...]:
    if "drop_covariates" not in s.data:
        return ((),)
    raw = s.get("drop_covariates", list)
    used = {a for m in study.models for a in m.adjust}
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, list) or not all(isinstance(c, str) for c in item):
            s.fail(f"item {i + 1} must be a list of covariates ([] drops none)", "drop_covariates")
        unknown = [c for c in item if c not in used]
        if unknown:
            s.fail(f"item {i + 1}: {', '.join(unknown)} is not a covariate of any of the study's [[models]]",
                   "drop_covariates")
        out.append(tuple(item))
    if not out:
        s.fail("needs at least 1 item", "drop_covariates")
    return tuple(out)


def _categorical(s: Section, study: Study) -> tuple[tuple[str, tuple[str, ...]], ...]:
    section = s.section("categorical", None)
    if section is None:
        return ()
    out = []
    for name in section.data:
        var = study.variables.get(name)
        if var is None or var.kind != "categorical":
            cats = [n for n, v in study.variables.items() if v.kind == "categorical"]
            section.fail(f"'{name}' is not a categorical variable of the study; one of: {', '.join(cats)}", name)
        if not any(name in m.adjust for m in study.models):
            section.fail(f"'{name}' is a covariate of none of the study's [[models]]", name)
        out.append((name, _choices(section, name, CATEGORICAL_FORMS, ("factor",))))
    return tuple(out)
