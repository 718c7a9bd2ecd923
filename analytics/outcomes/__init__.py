"""Outcome records per router (import, API, automatic collection) and the quality predictor they fit."""
