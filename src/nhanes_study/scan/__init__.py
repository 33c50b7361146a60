"""Scan mode: exposure-wide and phenotype-wide association studies (docs/scan.md)."""

from nhanes_study.scan.run import ScanResult, run_scan
from nhanes_study.scan.spec import ScanSpec, load_scan, scan_from_dict

__all__ = ["run_scan", "ScanResult", "ScanSpec", "load_scan", "scan_from_dict"]
