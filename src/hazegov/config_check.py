"""Config checks that name the file, line and key of a bad value.

Snakemake's own `validate` reports a JSON-schema failure without saying which of the merged
config files holds the value. This check validates the merged config against the same schema
and points each failure at the last file that set the key, so a reviewer who edited one value
in one file sees exactly where the problem is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hazegov.errors import ConfigError, Violation
from hazegov.survey.input_files import input_path_problem
from hazegov.yaml_bounds import YamlBoundError, compose_bounded

Origin = tuple[str, int]
# libyaml's parser where PyYAML was built with it: the same YAML, parsed at every Snakemake start
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _key_lines(node: yaml.Node, prefix: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, key_node.value)
            lines[key] = key_node.start_mark.line + 1
            _key_lines(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*prefix, index)
            lines[key] = item.start_mark.line + 1
            _key_lines(item, key, lines)


def read_config_file(path: str | Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """One config file as a mapping, with the line of every key; malformed YAML is an error."""
    path = Path(path)
    problem = input_path_problem(path, "the config file")
    if problem is not None and problem[0] != "file-exists":
        raise ConfigError.single(path, *problem)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError.single(
            path, "config-file-exists", "the config file does not exist"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError.single(
            path, "config-utf8", f"the config file is not UTF-8 text (byte {exc.start})"
        ) from None
    try:
        node = compose_bounded(text, _LOADER)
        content = yaml.load(text, Loader=_LOADER)
    except YamlBoundError as exc:
        raise ConfigError.single(
            path, exc.rule, exc.message, row=exc.line, row_kind="line"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError.single(
            path,
            "config-yaml-syntax",
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
            row=None if mark is None else mark.line + 1,
            row_kind="line",
        ) from None
    if content is None:
        raise ConfigError.single(path, "config-not-empty", "the config file is empty")
    if not isinstance(content, dict):
        raise ConfigError.single(
            path, "config-mapping", f"the top level must be a mapping, not {type(content).__name__}"
        )
    lines: dict[tuple[Any, ...], int] = {}
    _key_lines(node, (), lines)
    return content, lines


def _value_at(content: Any, key: tuple[Any, ...]) -> Any:
    for part in key:
        content = content[part]
    return content


def key_origins(files: Iterable[str | Path]) -> dict[tuple[Any, ...], Origin]:
    """Where each key was last set, in the order Snakemake merges the files (later wins).

    A list replaces an earlier list whole (Snakemake does not merge lists), so the keys inside
    an earlier list are forgotten when a later file sets that list.
    """
    origins: dict[tuple[Any, ...], Origin] = {}
    for file in files:
        if not Path(file).exists():
            continue
        content, lines = read_config_file(file)
        for key in lines:
            if isinstance(_value_at(content, key), list):
                for old in [k for k in origins if k[: len(key)] == key and len(k) > len(key)]:
                    del origins[old]
        for key, line in lines.items():
            origins[key] = (str(file), line)
    return origins


def _origin(path: tuple[Any, ...], origins: Mapping[tuple[Any, ...], Origin]) -> Origin | None:
    for end in range(len(path), 0, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return None


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def schema_violations(
    config: Mapping[str, Any],
    schema_path: str | Path,
    origins: Mapping[tuple[Any, ...], Origin],
) -> list[Violation]:
    schema = yaml.load(Path(schema_path).read_text(encoding="utf-8"), Loader=_LOADER)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(dict(config)), key=lambda e: list(map(str, e.path))):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            extra = sorted(k for k in error.instance if k not in allowed)
            path = (*path, extra[0]) if extra else path
        origin = _origin(path, origins)
        if origin is None and not path and origins:
            # a key missing at the top level: the first file read is where it belongs
            origin = (next(iter(origins.values()))[0], None)
        file, line = origin if origin else ("(command line --config)", None)
        value = None if isinstance(error.instance, dict | list) else error.instance
        problems.append(
            Violation(
                file=file,
                rule=f"config-schema:{error.validator}",
                message=error.message,
                row=line,
                row_kind="line",
                column=_dotted(path),
                value=value,
            )
        )
    return problems


def fill_schema_defaults(config: dict[str, Any], schema_path: str | Path) -> None:
    """Set each setting the config leaves out to its schema `default`, in place.

    This is what Snakemake's ``snakemake.utils.validate`` adds to the check above (the recipe
    of the jsonschema FAQ: a property's default is set before the object's properties are
    checked, so nested defaults fill in one pass). Doing it here spares every Snakemake start
    a second reading of the schema with the pure-Python YAML parser, about a tenth of a
    second; `check_config` has already refused a config that breaks the schema.

    Examples
    --------
    >>> import tempfile
    >>> schema = "properties:\n  paper:\n    type: object\n    default: {}\n"
    >>> schema += "    properties:\n      renderer: {type: string, default: auto}\n"
    >>> with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    ...     _ = f.write(schema)
    >>> config = {}
    >>> fill_schema_defaults(config, f.name)
    >>> config
    {'paper': {'renderer': 'auto'}}
    """
    schema = yaml.load(Path(schema_path).read_text(encoding="utf-8"), Loader=_LOADER)
    base = jsonschema.Draft202012Validator
    check_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        for name, subschema in properties.items():
            if "default" in subschema and isinstance(instance, dict):
                instance.setdefault(name, subschema["default"])
        yield from check_properties(validator, properties, instance, schema)

    defaulting = jsonschema.validators.extend(base, {"properties": set_defaults})
    for _error in defaulting(schema).iter_errors(config):
        pass


def check_config(
    config: Mapping[str, Any],
    files: Iterable[str | Path],
    schema_path: str | Path,
    overrides: Iterable[str | Path] = (),
) -> list[str]:
    """Raise a ConfigError listing every schema failure with file, line and key.

    `files` are the config files in the order they were read; `overrides` (`--configfile`)
    win over them, as in Snakemake's merge. The air strand's settings are checked too (its
    `primary` series against the station files), so a wrong series stops the run at start-up.

    Returns
    -------
    list of str
        Notes for the user, e.g. that an override's station list replaces the default one.
    """
    overrides = [str(f) for f in overrides]
    ordered = [f for f in map(str, files) if f not in overrides] + overrides
    origins = key_origins(ordered)
    problems = schema_violations(config, schema_path, origins)
    if problems:
        raise ConfigError(problems)
    # the station files of a strand switched off are not read, so need not exist
    if "air_quality" in config and (config.get("strands") or {}).get("air_quality", True):
        _locate("air_quality", lambda: _air_checks(config["air_quality"]), origins)
    return station_list_notes(ordered)


def _air_checks(section: Any) -> None:
    from hazegov.air.settings import check_primary, load_air_settings

    check_primary(load_air_settings(section))


def station_list_notes(files: Sequence[str | Path]) -> list[str]:
    """Say when a later config file's `air_quality.stations` replaces an earlier list.

    Snakemake merges mappings key by key but replaces lists whole, so a user's `stations:`
    list is the complete list of files: the default files are dropped unless listed again.
    """
    lists: list[tuple[str, int]] = []
    for file in files:
        if not Path(file).exists():
            continue
        content, _ = read_config_file(file)
        section = content.get("air_quality")
        if isinstance(section, Mapping) and isinstance(section.get("stations"), list):
            lists.append((str(file), len(section["stations"])))
    if len(lists) < 2:
        return []
    (last, n_last), (before, n_before) = lists[-1], lists[-2]
    return [
        f"{last}: air_quality.stations replaces the list of {before} ({n_before} file(s)) with "
        f"its own {n_last} file(s); lists are not merged, so list every station file to keep "
        "(the defaults too)"
    ]


def deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Snakemake's merge of config files: mappings merge key by key, anything else replaces."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def check_config_files(files: Sequence[str | Path], schema_path: str | Path) -> dict[str, Any]:
    """Load and merge config files as `--configfile` would, then check the result."""
    merged: dict[str, Any] = {}
    for file in files:
        content, _ = read_config_file(file)
        deep_merge(merged, content)
    check_config(merged, files, schema_path)
    check_strand_settings(merged, key_origins(files))
    return merged


def _key_path(section: str, dotted: str | None) -> tuple[Any, ...]:
    parts: list[Any] = [section]
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted or ""):
        parts.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(parts)


def check_strand_settings(
    config: Mapping[str, Any], origins: Mapping[tuple[Any, ...], Origin]
) -> None:
    """The air and policy strands' own checks (ranges, orders, dates) beyond the schema.

    Their errors name the config section; here they are pointed at the file and line.
    """
    from hazegov.air.settings import load_air_settings
    from hazegov.policy.settings import analysis_settings, ingest_settings

    checks = []
    if "air_quality" in config:
        checks.append(("air_quality", lambda: load_air_settings(config["air_quality"])))
        checks.append(("air_quality", lambda: _air_checks(config["air_quality"])))
    if "policies" in config:
        policies = config["policies"]
        checks.append(("policies", lambda: ingest_settings(policies.get("ingest"))))
        checks.append(
            (
                "policies",
                lambda: analysis_settings(policies.get("language"), policies.get("analysis")),
            )
        )
    for section, check in checks:
        _locate(section, check, origins)


def _locate(section: str, check: Any, origins: Mapping[tuple[Any, ...], Origin]) -> None:
    """Run a strand's check; point its errors at the file and line that set the key."""
    try:
        check()
    except ConfigError as exc:
        located = []
        for v in exc.violations:
            path = _key_path(section, v.column)
            origin = _origin(path, origins)
            if origin is None:
                located.append(v)
                continue
            located.append(
                replace(v, file=origin[0], row=origin[1], row_kind="line", column=_dotted(path))
            )
        raise ConfigError(located) from None
