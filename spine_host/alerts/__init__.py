"""Alerts: the Alert value, the AlertChannel contract and the builtin channels."""
