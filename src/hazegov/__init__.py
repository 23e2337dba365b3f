"""Reproducible pipeline for a questionnaire study of haze (PM2.5) governance in Beijing."""

__version__ = "0.1.0"
