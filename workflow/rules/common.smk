import os
from pathlib import Path

PAPER_SOURCE_DIR = Path(workflow.basedir) / "paper"
PAPER_BUILD_DIR = "results/paper"


def paper_sources():
    """Paper source files (relative to paper/) that are staged into the build directory."""
    patterns = ("*.qmd", "chapters/*.qmd", "_quarto.yml", "*.bib", "*.csl", "*.css")
    found = {p for pattern in patterns for p in PAPER_SOURCE_DIR.glob(pattern)}
    return sorted(str(p.relative_to(PAPER_SOURCE_DIR)) for p in found)


def paper_outputs():
    suffix = {"html": "html", "pdf": "pdf"}
    return [f"{PAPER_BUILD_DIR}/_output/index.{suffix[f]}" for f in config["paper"]["formats"]]
