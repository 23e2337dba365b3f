"""YAML composed with a bound on what its aliases stand for.

A YAML alias (`*name`) repeats the node its anchor (`&name`) marks without copying it, so a
file of a kilobyte can stand for a document of billions of nodes ("billion laughs"): PyYAML
builds it cheaply, but anything that walks it key by key (the line map of `codebook` and
`config_check`, a JSON-schema check) runs until the kernel kills it, with no message. An alias
may also point into its own anchor's node, a document without end. The codebook and the config
are read through `compose_bounded`, which measures the document as its aliases expand it, in
time proportional to the file, and refuses it when it is larger than `MAX_YAML_NODES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

# The expanded document may hold at most this many nodes (mappings, lists, keys and values).
# config/codebook.yaml, the largest YAML the pipeline reads, has under 3,000.
MAX_YAML_NODES = 100_000
BOUNDED_ALIASES = "bounded-yaml-aliases"
BOUNDED_DEPTH = "bounded-yaml-depth"


@dataclass
class YamlBoundError(Exception):
    """A YAML document too large or too deep as written, at a line of the file."""

    rule: str
    message: str
    line: int | None

    def __str__(self) -> str:
        return self.message


def compose_bounded(text: str, loader: Any = yaml.SafeLoader) -> yaml.Node | None:
    """The node graph of `text`, refused when aliases expand it beyond `MAX_YAML_NODES`.

    Parameters
    ----------
    text
        A YAML document.
    loader
        The PyYAML loader class that composes it (as the caller loads it).

    Returns
    -------
    yaml.Node or None
        The document's root node (None for an empty document); aliases stay shared.

    Raises
    ------
    yaml.YAMLError
        Text that is not YAML, as PyYAML reports it.
    YamlBoundError
        Aliases that expand past the bound or into themselves (rule `bounded-yaml-aliases`),
        or nesting too deep for the YAML composer (rule `bounded-yaml-depth`).
    """
    try:
        node = yaml.compose(text, Loader=loader)
    except RecursionError:
        raise YamlBoundError(
            BOUNDED_DEPTH,
            "the YAML is nested too deeply to read (thousands of lists or mappings inside one "
            "another); no codebook or config needs that",
            None,
        ) from None
    if node is not None:
        _expanded_size(node)
    return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expanded_size(root: yaml.Node) -> int:
    """Nodes of the document with every alias expanded, each shared node measured once.

    Depth-first without recursion; a node met again while its own subtree is open is an alias
    into itself.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        key = id(node)
        if closing:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_NODES:
                raise _too_large(node)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlBoundError(
                BOUNDED_ALIASES,
                "an alias here repeats a node that contains it, so the document never ends; "
                "refused without expanding it",
                node.start_mark.line + 1,
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _too_large(node: yaml.Node) -> YamlBoundError:
    return YamlBoundError(
        BOUNDED_ALIASES,
        f"the YAML aliases (*name) under this line expand to more than {MAX_YAML_NODES:,} "
        "nodes (the limit MAX_YAML_NODES in hazegov.yaml_bounds): an alias bomb such as "
        "'billion laughs'; refused without expanding it. Write the repeated parts out, or use "
        "fewer aliases",
        node.start_mark.line + 1,
    )
