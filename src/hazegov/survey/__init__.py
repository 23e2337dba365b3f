"""The questionnaire strand: from the platform's export to the cleaned analysis data.

Owns the codebook (`codebook`), reading an export (`ingest`, with `export_encoding`,
`export_workbook` and `input_files`), display logic (`display`), the exclusion rules
(`cleaning`), the sample description (`describe`), free-text answers (`free_text`), the
synthetic-data generators (`synthetic`, `synthetic_general`) and the strand's workflow stages
(`stages`: one function per rule, file paths in, files out).
"""
