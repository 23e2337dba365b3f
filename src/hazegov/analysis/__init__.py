"""Measurement and explanatory analyses of questionnaire data.

Each public function takes a data frame and a model description (for a measurement model, a
mapping construct -> item columns) and returns tidy results. They work on any questionnaire the
codebook describes. Degenerate data raise `AnalysisError` or carry an explicit warning in the
result; they never yield a silent number.
"""
