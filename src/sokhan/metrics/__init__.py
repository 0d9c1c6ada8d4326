"""Metric definitions and the computations behind reports (see docs/metrics.md).

``definitions`` is the one registry of what each reported number means and its version;
``business_hours`` counts open time; ``response`` holds the inbox response metrics as pure functions
over plain rows; ``inbox_report`` reads the inbox tables and feeds them.
"""

from sokhan.metrics.definitions import MetricDefinition, definitions, get, register

__all__ = ["MetricDefinition", "definitions", "get", "register"]
