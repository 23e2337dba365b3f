"""The paper and the reports built from the results.

Owns the paper's variables (`variables`: numbers and labels the text reads), its tables
(`tables`: pipe tables, numbers written by `hazegov.formatting`) and figures (`figures`), the
questionnaire and reproducibility appendices (`reproducibility`), the render to HTML, PDF and
DOCX (`render`, with Quarto's syntax in `quarto_syntax`), the checks of the rendered paper
(`checks`, with the PDF's layout in `pdf_layout`), the comparison of two builds (`diff`), the
generated results report for any questionnaire (`results_report`) and the paper's own workflow
stages (`stages`).
"""
