"""Read a study file and validate it, section by section, into a typed `Study`."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from nhanes_study.errors import SpecError
from nhanes_study.nhanes.cycles import get_cycle
from nhanes_study.nhanes.weights import check_combination
from nhanes_study.spec import analyses as sections
from nhanes_study.spec.checks import check_outcomes, check_study, check_subgroup_tables
from nhanes_study.spec.data import apply_auto_weight, read_data, read_design, read_exclusion
from nhanes_study.spec.profiles import read_profiles
from nhanes_study.spec.report import read_report
from nhanes_study.spec.toml_reader import Section
from nhanes_study.spec.types import PROFILE_NAMES, Study
from nhanes_study.spec.variables import read_variables


#: How errors and the provenance name a study given as text or as a dict (no file).
STRING_SOURCE = "<string>"
DICT_SOURCE = "<dict>"


def default_study_path() -> Path:
    """The reference study shipped with the package (hemoglobin and spine BMD)."""
    return Path(__file__).resolve().parent.parent / "studies" / "hgb_bmd.toml"


def load_study(path: str | Path) -> Study:
    """Read and validate a study file. Raises SpecError naming the field and the fix."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: study file not found; give the path of a .toml study file "
                        f"(the reference study is {default_study_path()})") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the study file: {exc.strerror}") from None
    return _from_bytes(path, raw)


def load_study_text(text: str, name: str = STRING_SOURCE) -> Study:
    """Validate a study given as TOML text; errors name the source as ``name`` ("<string>").

    >>> load_study_text("[study]\\nname = 'x'")
    Traceback (most recent call last):
    ...
    nhanes_study.errors.SpecError: <string>: [study].cycles: is required but missing
    """
    return _from_bytes(Path(name), text.encode("utf-8"))


def study_from_dict(data: dict, name: str = DICT_SOURCE) -> Study:
    """Validate a study given as a dict shaped as the TOML file; errors name it ``name`` ("<dict>").

    The provenance (and the report) records the dict as JSON text, with its SHA-256.
    """
    if not isinstance(data, dict):
        raise SpecError(f"{name}: a study must be a dict of sections, not {type(data).__name__}")
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name}: holds a value a study file cannot ({exc}); use strings, numbers, "
                        "booleans, lists and dicts only") from None
    return _build(Path(name), text, hashlib.sha256(text.encode("utf-8")).hexdigest(), json.loads(text))


def _from_bytes(path: Path, raw: bytes) -> Study:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, column {column}); "
                        "save the study file as UTF-8 (TOML files are UTF-8)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return _build(path, text, hashlib.sha256(raw).hexdigest(), data)


def _build(path: Path, text: str, sha256: str, data: dict) -> Study:
    root = Section(path, "", data)
    root.only("study", "data", "exclusions", "profiles", "design", "exposure", "outcomes", "missing",
              "variables", "table1", "models", "subgroups", "curves", "thresholds", "published",
              "reproduction", "report", "explain")  # [explain]: read by spec/explain.py

    study = root.section("study")
    study.only("name", "title", "cycles", "profiles", "seed")
    cycles = study.get_list("cycles", str, min_len=1)
    for c in cycles:
        try:
            get_cycle(c)
        except Exception as exc:  # the catalog's own message lists the valid cycles
            study.fail(str(exc), "cycles")
    try:
        check_combination(cycles)
    except Exception as exc:  # overlapping cycles (2017-2018 with 2017-March 2020)
        study.fail(str(exc), "cycles")
    profile_names = study.get_list("profiles", str, default=list(PROFILE_NAMES), min_len=1)

    weight = root.section("design").data.get("weight")
    tables, spine, missing_codes, renames = read_data(root.section("data"), cycles,
                                                      weight if isinstance(weight, str) else None)
    tables = apply_auto_weight(root.section("design"), tables, spine, cycles)
    raw = {v for names in tables.values() for v in names}
    variables = read_variables(root.section("variables"), raw)
    profiles = read_profiles(root.section("profiles"), profile_names)
    exclusions = tuple(read_exclusion(s, raw, variables) for s in root.sections("exclusions"))
    design = read_design(root.section("design"), raw)

    names = sections.Names(variables)
    miss_cont, miss_label = sections.read_missing(root.section("missing", None))
    exposure = sections.read_exposure(root.section("exposure"), names, miss_label)
    outcomes, outcome_specs = sections.read_outcomes(root, names)
    check_outcomes(root, variables, exposure.variable, outcomes, outcome_specs, miss_label)
    table1, table1_summary = sections.read_table1(root.section("table1", None), names)
    models = sections.read_models(root, names, exposure.variable)
    subgroups = sections.read_subgroups(root, names)
    check_subgroup_tables(root)
    curves = sections.read_curves(root.section("curves", None), names)
    thresholds = sections.read_thresholds(root, names, outcomes, miss_label)
    published = sections.read_published(root, names, {
        "outcomes": outcomes, "subgroups": subgroups, "thresholds": thresholds, "exposure": exposure,
        "missing_label": miss_label, "outcome_specs": outcome_specs})
    note, citation, doi = sections.read_reproduction(root.section("reproduction", None))
    report = read_report(root.section("report", None))

    study_ = Study(
        path=path, text=text, sha256=sha256,
        name=study.get("name", str), title=study.get("title", str, ""),
        cycles=cycles, profiles=profiles, seed=study.get("seed", int, 0),
        spine=spine, tables=tables, missing_codes=missing_codes, exclusions=exclusions,
        design=design, exposure=exposure, outcomes=outcomes,
        missing_continuous=miss_cont, missing_categorical_label=miss_label,
        variables=variables, table1=table1, models=models, subgroups=subgroups,
        curves=curves, thresholds=thresholds, published=published,
        reproduction_note=note, reproduction_citation=citation, reproduction_doi=doi,
        table1_summary=table1_summary, renames=renames, report=report, outcome_specs=outcome_specs,
    )
    check_study(root, study_)
    return study_
