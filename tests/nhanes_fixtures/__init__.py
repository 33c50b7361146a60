"""Helpers for the tests of nhanes_study.nhanes (a local HTTP server, small XPT files)."""
