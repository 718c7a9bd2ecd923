"""Evaluations: labelled sets, evaluation runs against a router version, threshold calibration."""
