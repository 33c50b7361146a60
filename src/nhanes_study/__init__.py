"""nhanes-study: NHANES cross-sectional association studies, end to end.

From Python (docs/python.md)::

    import nhanes_study as ns
    res = ns.run(ns.load("studies/hgb_bmd.toml"), data_dir="../shared/nhanes/2013-2018")
    res.estimates.head(); res.save("out")

The public names are loaded on first use, so that ``import nhanes_study`` stays light (the
command line imports it before numpy, see cli.py).
"""

__version__ = "0.1.0"

_PUBLIC = {
    "load": "nhanes_study.api",
    "run": "nhanes_study.api",
    "Results": "nhanes_study.run_results",
    "Study": "nhanes_study.spec",
    "load_study": "nhanes_study.spec",
    "load_study_text": "nhanes_study.spec",
    "study_from_dict": "nhanes_study.spec",
    "default_study_path": "nhanes_study.spec",
    "NhanesStudyError": "nhanes_study.errors",
    "SpecError": "nhanes_study.errors",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'nhanes_study' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_PUBLIC])
