"""Experiments users run from one command (``hippocam run NAME``): results JSON, figures, summary."""
