"""Helpers the test modules share, by topic; no test module imports from another test module.

`paths` locates the checkout and the data fixtures; `workflow` runs Snakemake on copies of
`.test`; `survey`, `privacy`, `policy` and `paper` hold the inputs and builders of those
strands' tests; `other_instrument` and `reference_survey` are a second questionnaire and a
row-by-row reference ingest. Shared pytest fixtures are in `tests/conftest.py`.
"""
