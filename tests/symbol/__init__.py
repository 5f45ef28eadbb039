"""Tests of the Symbol API, graph JSON, executor, CachedOp and visualisation."""
