"""How far the study's conclusions hold.

Owns the multiverse of data and analysis choices (`multiverse`), the simulation study of the
estimators on data drawn from the population model (`simulation`, planned into jobs by
`simulation_plan`), and the cache of their results keyed by settings, inputs and code
(`result_cache`).
"""
