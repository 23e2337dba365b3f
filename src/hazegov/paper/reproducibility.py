"""Appendix B: what a reader needs to rebuild the paper, and the rule graph of the workflow."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx

from hazegov.io import write_text
from hazegov.paper.tables import markdown_table
from hazegov.privacy.identifiers import export_label
from hazegov.survey.describe import save_png

# The packages the pipeline pins in pyproject.toml and uses at run time.
PINNED = (
    "snakemake",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "pandera",
    "pyarrow",
    "openpyxl",
    "pyreadstat",
    "semopy",
    "pingouin",
    "factor_analyzer",
    "scikit-learn",
    "jieba",
    "networkx",
    "python-docx",
    "pypdf",
    "pypandoc-binary",
    "typst",
    "mplfonts",
    "nbconvert",
)
_NODE = re.compile(r'^\s*(\d+)\[label = "([^"]+)"')
_EDGE = re.compile(r"^\s*(\d+) -> (\d+)")


def rule_graph_dot(
    snakefile: str | Path, workdir: str | Path, config: dict[str, Any] | None = None
) -> str:
    """The rule graph as Snakemake prints it (a nested run: the outer run holds the lock).

    ``config`` is the part of the outer run's configuration that decides which rules exist
    (the strands switched on): the nested run reads only the config files, not the outer
    run's ``--configfile`` overrides, and would draw the rules of a strand switched off.
    """
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        override: list[str] = []
        if config:
            path = Path(tmp) / "rule_graph_config.yaml"
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
            override = ["--configfile", str(path)]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(snakefile),
                "--directory",
                str(workdir),
                *override,
                "--rulegraph",
                "--nolock",
                "--quiet",
                "all",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    return out.stdout


def rule_graph(dot: str) -> nx.DiGraph:
    names: dict[str, str] = {}
    graph = nx.DiGraph()
    for line in dot.splitlines():
        if m := _NODE.match(line):
            names[m.group(1)] = m.group(2)
    for line in dot.splitlines():
        if m := _EDGE.match(line):
            graph.add_edge(names[m.group(1)], names[m.group(2)])
    graph.add_nodes_from(names.values())
    return graph


def canonical_dot(graph: nx.DiGraph) -> str:
    """The rule graph in a fixed order: Snakemake numbers the rules in set-iteration order,
    which follows Python's hash seed, so its own output differs from process to process."""
    ids = {name: i for i, name in enumerate(sorted(graph.nodes))}
    lines = ["digraph snakemake_dag {", "    graph[bgcolor=white];", "    node[shape=box];"]
    lines += [f'    {i}[label = "{name}"];' for name, i in ids.items()]
    lines += [f"    {ids[a]} -> {ids[b]}" for a, b in sorted(graph.edges)]
    return "\n".join([*lines, "}"]) + "\n"


_RULE_RE = re.compile(r"^rule\s+(\w+)\s*:", re.MULTILINE)


def stage_graph(graph: nx.DiGraph, rules_dir: str | Path) -> nx.DiGraph:
    """The rule graph folded into stages: one node per ``workflow/rules/<stage>.smk``.

    The full graph has too many rules to read at page width; the stages are what a reader
    needs to follow the data, and the full graph stays in the DOT file beside the figure.
    """
    stage_of: dict[str, str] = {}
    for smk in sorted(Path(rules_dir).glob("*.smk")):
        for rule in _RULE_RE.findall(smk.read_text(encoding="utf-8")):
            stage_of[rule] = smk.stem
    stages = nx.DiGraph()
    stages.add_nodes_from(stage_of[r] for r in graph.nodes if r in stage_of)
    for source, target in graph.edges:
        a, b = stage_of.get(source), stage_of.get(target)
        if a is not None and b is not None and a != b:
            stages.add_edge(a, b)
    return stages


def plot_rule_graph(graph: nx.DiGraph, path: str | Path) -> None:
    """Nodes left to right in the order data flows through them."""
    layers = [sorted(layer) for layer in nx.topological_generations(graph)]
    positions = {}
    for x, layer in enumerate(layers):
        for i, name in enumerate(layer):
            positions[name] = (x, -(i - (len(layer) - 1) / 2))
    height = max(len(layer) for layer in layers)
    fig, ax = plt.subplots(figsize=(6.3, 0.6 * height + 0.8), dpi=150)
    for source, target in sorted(graph.edges):
        (x0, y0), (x1, y1) = positions[source], positions[target]
        ax.annotate(
            "",
            xy=(x1 - 0.42, y1),
            xytext=(x0 + 0.42, y0),
            arrowprops={"arrowstyle": "-|>", "color": "#999999", "lw": 0.6},
        )
    for name, (x, y) in sorted(positions.items()):
        ax.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=7.5,
            bbox={
                "boxstyle": "round,pad=0.3",
                "facecolor": "#e8eef7",
                "edgecolor": "#1f4e79",
                "linewidth": 0.6,
            },
        )
    ax.set_xlim(-0.7, len(layers) - 0.3)
    ax.set_ylim(-height / 2 - 0.5, height / 2 + 0.5)
    ax.axis("off")
    fig.tight_layout()
    save_png(fig, path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reproducibility_markdown(raw_inputs: list[str | Path], repository_url: str = "") -> str:
    """Software versions, the sha256 of every raw input, and the commands to rebuild and vary."""
    software = [["Python", sys.version.split()[0]]]
    for name in PINNED:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        software.append([name, version])
    lines = [
        "## Software {.unnumbered}",
        "",
        *markdown_table(["Package", "Version"], software, ["left", "right"]),
    ]
    lines += ["", ": Software the build ran with. {#tbl-software}", ""]
    inputs = []
    # relative to the project, and "<export>" for a path that names a person (its sha256 says
    # which file it is)
    for path in sorted(raw_inputs, key=export_label):
        digest = sha256(Path(path))
        grouped = " ".join(digest[i : i + 16] for i in range(0, len(digest), 16))
        inputs.append([f"`{export_label(path)}`", grouped])
    lines += [
        "## Raw inputs {.unnumbered}",
        "",
        *markdown_table(["File", "sha256"], inputs, ["left", "left"]),
    ]
    lines += [
        "",
        ": Every raw input of the build and its sha256, in groups of 16 hexadecimal digits. "
        "{#tbl-raw-inputs}",
        "",
    ]
    where = f" ({repository_url})" if repository_url else ""
    lines += [
        "## Commands {.unnumbered}",
        "",
        f"From a clone of the repository{where}:",
        "",
        "```bash",
        'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]"',
        "snakemake --cores 4            # rebuild everything, from the raw export to the paper",
        "pytest                         # the tests",
        "snakemake --report report.html # Snakemake's report with the figures",
        "```",
        "",
        "To vary a choice, change it in `config/config.yaml`, or give the changed values in a "
        "small YAML file with `--configfile`, and rebuild; only the jobs that depend on it run "
        "again. For example, keeping the respondents the minimum-duration rule would drop:",
        "",
        "```bash",
        "hazegov paper-diff save results/paper results/baselines/default",
        "printf 'exclusions:\\n  min_duration:\\n    enabled: false\\n    seconds: 120\\n' "
        "> keep_speeders.yaml",
        "snakemake --cores 4 --configfile keep_speeders.yaml",
        "snakemake --cores 1 --configfile keep_speeders.yaml results/paper_diff/report.html",
        "```",
        "",
    ]
    return "\n".join(lines)


def run_reproducibility_appendix(
    snakefile: str | Path,
    workdir: str | Path,
    raw_inputs: list[str | Path],
    repository_url: str,
    dot_out: str | Path,
    figure_out: str | Path,
    markdown_out: str | Path,
    rule_graph_config: dict[str, Any] | None = None,
) -> None:
    graph = rule_graph(rule_graph_dot(snakefile, workdir, rule_graph_config))
    write_text(dot_out, canonical_dot(graph))
    plot_rule_graph(stage_graph(graph, Path(snakefile).parent / "workflow" / "rules"), figure_out)
    write_text(markdown_out, reproducibility_markdown(raw_inputs, repository_url))
