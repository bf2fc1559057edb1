"""Converted vision and point-cloud SNNs (issues 5 and 6): not built yet.

This package is reserved by the project's layout; the event pipeline lands here.
"""
