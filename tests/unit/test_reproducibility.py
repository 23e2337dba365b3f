"""The reproducibility appendix's rule graph is written the same way whatever order Snakemake
printed it in."""

from __future__ import annotations

from hazegov.paper.reproducibility import canonical_dot, rule_graph

SNAKEMAKE_ORDER_A = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
    node[shape=box, style=rounded, fontname=sans, fontsize=10, penwidth=2];
    edge[penwidth=2, color=grey];
\t0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
\t1[label = "render_paper", color = "0.10 0.6 0.85", style="rounded"];
\t2[label = "ingest_export", color = "0.20 0.6 0.85", style="rounded"];
\t3[label = "clean_responses", color = "0.30 0.6 0.85", style="rounded"];
\t1 -> 0
\t3 -> 1
\t2 -> 3
\t2 -> 1
}
"""
SNAKEMAKE_ORDER_B = """digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
\t0[label = "clean_responses", color = "0.30 0.6 0.85", style="rounded"];
\t1[label = "ingest_export", color = "0.20 0.6 0.85", style="rounded"];
\t2[label = "all", color = "0.00 0.6 0.85", style="rounded"];
\t3[label = "render_paper", color = "0.10 0.6 0.85", style="rounded"];
\t1 -> 3
\t1 -> 0
\t3 -> 2
\t0 -> 3
}
"""


def test_two_printings_of_one_rule_graph_give_the_same_file():
    a = canonical_dot(rule_graph(SNAKEMAKE_ORDER_A))
    b = canonical_dot(rule_graph(SNAKEMAKE_ORDER_B))
    assert a == b


def test_the_canonical_file_keeps_every_rule_and_dependency():
    graph = rule_graph(canonical_dot(rule_graph(SNAKEMAKE_ORDER_A)))
    assert set(graph.nodes) == {"all", "render_paper", "ingest_export", "clean_responses"}
    assert set(graph.edges) == {
        ("render_paper", "all"),
        ("clean_responses", "render_paper"),
        ("ingest_export", "clean_responses"),
        ("ingest_export", "render_paper"),
    }
