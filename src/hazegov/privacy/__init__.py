"""Privacy of what the study publishes.

Owns the identifier patterns and the redaction of free text (`identifiers`), the small-cell
suppression rule and its check over every output (`disclosure`), the released data set with its
k-anonymity check and the stage that writes it (`release`), and the last scan for direct
identifiers in every file the build wrote (`identifier_scan`).
"""
