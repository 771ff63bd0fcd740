"""Scorers: outcome scoring (always on) and named scorers from the registry."""
