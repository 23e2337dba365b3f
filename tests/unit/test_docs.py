"""Every path, link and command that README.md and docs/*.md name exists and runs.

The rules, so that a page cannot name what is not there:

- Paths. An inline code span that reads as a path is checked. A span whose first component is
  a top-level entry of the repository (`config/codebook.yaml`, `.ci/run`) must exist. One under
  `results/` or `logs/` names a build output, which no checkout has: it must be declared by the
  workflow, or made by the package, the tests or the benchmarks, that is, the path (or its
  folder together with the file's stem) must occur in their source, with the rules' path
  constants (`{PAPER_BUILD_DIR}`, ...) filled in. A bare file name (`index.qmd`,
  `make_hostile_cases.py`) must be the name of a file of the repository or occur in that source
  (an output such as `k_anonymity.json`), or be a file the pages' own examples make
  (`EXAMPLE_FILES`). Spans outside these forms (commands, config keys, module names) are not
  paths; placeholders (`<export>`, `~/`, `$PWD`) and non-ASCII example names are not checked.
- Links. Every relative link resolves to a file of the repository, and its `#anchor`, if any,
  to a heading of that file (GitHub's anchors).
- Commands. Each line of a ```bash block (and a commented alternative `# or: ...`) is run the
  fast way its program allows: `python benchmarks/x.py ...`, `python -m hazegov...` and
  `hazegov ...` with `--help` appended, so that argparse also checks every option and choice
  written before it; `snakemake ...` as a dry run (`-n`) in the checkout, marked slow; `pytest`
  by checking its `-m` markers against pyproject.toml; `bash script.sh` with `bash -n`;
  `printf` in a temporary folder. `EXEMPT` lists what cannot run here, with the reason.
- The README's layout tree lists only what exists, and lists every rule file (with exactly the
  rules it defines), every config file and every top-level folder of the repository; the
  README links every docs page.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.support.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# Files that the pages' own examples create or that stand for the reader's own file.
EXAMPLE_FILES = {
    "my_air.yaml": "the station example of docs/real-data.md, written by the reader",
    "keep_speeders.yaml": "written by the printf of the paper-diff example (docs/paper.md)",
    "report.html": "where the reader asks `--report` or `paper-diff compare --out` to write",
    "data/raw/my_export.csv": "the reader's own export (docs/guarantees.md)",
    "data/raw/x.csv": "the file name in an example error message (docs/real-data.md)",
}

# Commands of ```bash blocks that cannot run here, by their start, and why.
EXEMPT = {
    "python3 -m venv": "the install command: a new environment, installed from the network; "
    "CI runs it verbatim (test_the_install_command_is_the_one_ci_runs)",
    "chromium": "needs Chromium; tests/e2e/test_paper_browser.py takes the same screenshot",
    "snakemake --cores 4 all results/paper_diff/report.html": "needs a saved baseline and a "
    "build; tests/e2e/test_air_workflow.py runs the paper-diff example as written (e2e)",
    "snakemake --cores 4 --configfile my_air.yaml": "my_air.yaml holds placeholders and station "
    "files not in the repository; tests/unit/test_air_config.py checks the example config",
}

OUTPUT_EXTENSIONS = {"csv", "docx", "html", "json", "md", "parquet", "pdf", "png", "sav", "yml"}
EXTENSIONS = {
    *("bib", "cff", "css", "csv", "docx", "html", "ipynb", "json", "md", "otf", "parquet"),
    *("pdf", "png", "py", "qmd", "rst", "sav", "sh", "smk", "toml", "txt", "typ", "xlsx"),
    *("yaml", "yml"),
}


def _tracked() -> list[str]:
    """The repository's files: git's list, or (outside a git checkout) the files on disk less
    the build outputs and caches."""
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "results", "logs", ".snakemake", "__pycache__", ".ruff_cache"}
        listed = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
        ]
    return [p for p in listed if (ROOT / p).exists()] + [str(p.relative_to(ROOT)) for p in PAGES]


TRACKED = sorted(set(_tracked()))
TOP_LEVEL = {p.split("/", 1)[0] for p in TRACKED}
BASENAMES = {p.rsplit("/", 1)[-1] for p in TRACKED}


def _source_corpus() -> str:
    """The text that declares or makes outputs: rules, Snakefile, package, tests, benchmarks."""
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    for folder in ("src", "tests", "benchmarks", "workflow/scripts"):
        files += sorted((ROOT / folder).rglob("*.py"))
    text = "\n".join(f.read_text(encoding="utf-8") for f in files if f.name != "test_docs.py")
    # Fill in the rules' path constants, e.g. PAPER_BUILD_DIR = "results/paper".
    for name, value in re.findall(r'^([A-Z_]+) = "((?:results|logs)/[^"]*)"', text, re.M):
        text = text.replace("{" + name + "}", value)
    return text


CORPUS = _source_corpus()


def _doc_text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _prose(text: str) -> str:
    """The page without its fenced blocks (their contents are examples or commands)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _outside_code(text: str) -> str:
    """The prose without inline code (which may quote Markdown, such as a link of the paper)."""
    return re.sub(r"`[^`\n]+`", "", _prose(text))


def _spans() -> list[tuple[str, str]]:
    """(page, candidate) for each inline code span; a span of several words (an inline command)
    gives those of its words that contain a slash."""
    found = []
    for page in PAGES:
        for span in re.findall(r"`([^`\n]+)`", _prose(_doc_text(page))):
            words = span.split()
            candidates = words if len(words) == 1 else [w for w in words if "/" in w]
            found += [(str(page.relative_to(ROOT)), w) for w in candidates]
    return found


def _is_path(span: str) -> bool:
    if not re.fullmatch(r"\.?[A-Za-z0-9_][A-Za-z0-9_./-]*", span) or "//" in span:
        return False
    first = span.split("/", 1)[0]
    if "/" in span:
        return first in TOP_LEVEL or first in ("results", "logs")
    return span.rsplit(".", 1)[-1] in EXTENSIONS and "." in span.strip(".")


PATHS = sorted({(page, span) for page, span in _spans() if _is_path(span)})


def _declared_output(path: str) -> bool:
    path = path.rstrip("/")
    if path in CORPUS:
        return True
    folder, _, name = path.rpartition("/")
    stem = name.split(".", 1)[0]
    return folder in CORPUS and re.search(rf"\b{re.escape(stem)}\b", CORPUS) is not None


def test_the_pages_name_paths():
    """The rule below has something to check (and `_is_path` still recognises paths)."""
    named = {span for _, span in PATHS}
    assert {"config/codebook.yaml", "workflow/rules/air.smk", ".ci/run"} <= named
    assert "benchmarks/coverage.py" in named


@pytest.mark.parametrize(("page", "path"), PATHS, ids=[f"{p}:{s}" for p, s in PATHS])
def test_every_named_path_exists(page, path):
    if path in EXAMPLE_FILES:
        return
    first = path.split("/", 1)[0]
    if first in ("results", "logs"):
        assert _declared_output(path), f"{page}: {path} is no output of the workflow"
    elif "/" in path:
        assert (ROOT / path).exists(), f"{page}: {path} does not exist"
    else:
        stem, extension = path.rsplit(".", 1)
        output = extension in OUTPUT_EXTENSIONS and re.search(rf"\b{re.escape(stem)}\b", CORPUS)
        assert path in BASENAMES or path in CORPUS or output, (
            f"{page}: no file of the repository is named {path}, and no output"
        )


SPANS = sorted(set(_spans()))
CONFIG_SECTIONS = {
    *("survey", "exclusions", "paper", "analysis", "air_quality", "policies", "privacy"),
    *("multiverse", "simulation"),
}
CONFIG_KEYS = sorted(
    {
        (page, span)
        for page, span in SPANS
        if span.split(".", 1)[0] in CONFIG_SECTIONS
        and re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+", span)
        and not _is_path(span)
        # `analysis.ml` in prose is the module hazegov.analysis.ml
        and not (ROOT / "src" / "hazegov" / (span.replace(".", "/") + ".py")).exists()
    }
)
MODULES = sorted({(p, s) for p, s in SPANS if re.fullmatch(r"hazegov(\.\w+)+", s)})


@pytest.mark.parametrize(("page", "key"), CONFIG_KEYS, ids=[f"{p}:{k}" for p, k in CONFIG_KEYS])
def test_every_named_config_key_is_in_the_schema(page, key):
    """`survey.export`, `privacy.min_cell_count`, ...: keys of the config schema."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text("utf-8"))
    node = schema
    for part in key.split("."):
        properties = node.get("properties") or node.get("additionalProperties") or {}
        assert part in properties, f"{page}: {key} is no key of the config schema"
        node = properties[part]


@pytest.mark.parametrize(("page", "name"), MODULES, ids=[f"{p}:{n}" for p, n in MODULES])
def test_every_named_module_or_object_exists(page, name):
    """`hazegov.analysis.ml`, `hazegov.analysis.cfa.OrderedModel`, ...: importable."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            assert hasattr(obj, attribute), f"{page}: {name} does not exist"
            obj = getattr(obj, attribute)
        return
    pytest.fail(f"{page}: {name} does not import")


def test_every_rule_the_pages_name_is_a_rule_of_the_workflow():
    """A code span after the word "rule" (`The rule `render_paper` ...`) names a defined rule."""
    defined = set()
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        defined |= set(re.findall(r"^rule (\w+):", smk.read_text(encoding="utf-8"), re.M))
    named = {
        (str(page.relative_to(ROOT)), name)
        for page in PAGES
        for name in re.findall(r"\b[Rr]ules? `(\w+)`", _doc_text(page))
    }
    assert len(named) >= 5
    assert {(page, name) for page, name in named if name not in defined} == set()


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", _prose(_doc_text(page)), re.M)}


LINKS = sorted(
    (str(page.relative_to(ROOT)), target)
    for page in PAGES
    for target in re.findall(r"\]\(([^)\s]+)\)", _outside_code(_doc_text(page)))
)


@pytest.mark.parametrize(("page", "target"), LINKS, ids=[f"{p}:{t}" for p, t in LINKS])
def test_every_link_resolves(page, target):
    assert not re.match(r"[a-z]+:", target), f"{page}: external link {target}"
    file_part, _, anchor = target.partition("#")
    resolved = (ROOT / page).parent / file_part if file_part else ROOT / page
    assert resolved.resolve().is_relative_to(ROOT), f"{page}: {target} leaves the repository"
    assert resolved.exists(), f"{page}: {target} does not resolve"
    if anchor:
        assert anchor in _anchors(resolved), f"{page}: no heading #{anchor} in {resolved.name}"


def test_the_docs_pages_are_linked_from_the_readme():
    readme = _doc_text(ROOT / "README.md")
    for page in (ROOT / "docs").glob("*.md"):
        assert f"](docs/{page.name})" in readme, f"README does not link docs/{page.name}"


def _commands() -> list[tuple[str, str]]:
    """(page, command) for each command line of a ```bash block, continuations joined."""
    found = []
    for page in PAGES:
        for block in re.findall(r"^```bash\n(.*?)^```", _doc_text(page), re.M | re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip()
                if line.startswith("# or: "):
                    line = line.removeprefix("# or: ")
                if line and not line.startswith("#"):
                    found.append((str(page.relative_to(ROOT)), line))
    return found


COMMANDS = _commands()
SLOW_PROGRAMS = ("snakemake",)


def _params():
    for page, command in COMMANDS:
        words = shlex.split(command, comments=True)
        program = next(w for w in words if "=" not in w)
        marks = [pytest.mark.slow] if program in SLOW_PROGRAMS else []
        yield pytest.param(page, command, marks=marks, id=f"{page}:{command[:60]}")


def _run(args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT):
    run = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert run.returncode == 0, f"{shlex.join(args)}\n{(run.stdout + run.stderr)[-3000:]}"
    return run


def _help_knows(command: str, help_text: str, args: list[str]) -> None:
    """argparse acts on `--help` before it rejects an unknown option: look the options up."""
    for option in (a.split("=", 1)[0] for a in args if a.startswith("--")):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), (
            f"{command}: {option} is not in its --help"
        )


def _markers() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {m.split(":", 1)[0] for m in config["tool"]["pytest"]["ini_options"]["markers"]}


@pytest.mark.parametrize(("page", "command"), list(_params()))
def test_every_command_runs(page, command, tmp_path):
    if any(command.startswith(start) for start in EXEMPT):
        return
    words = shlex.split(command, comments=True)
    # Optional arguments written as `[--per-rule]` are run as given.
    words = [w[1:-1] if w.startswith("[") and w.endswith("]") else w for w in words]
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    program, args = words[0], words[1:]
    if program == "python" and args[0].startswith("benchmarks/"):
        assert (ROOT / args[0]).is_file()
        _help_knows(command, _run([sys.executable, *args, "--help"]).stdout, args)
    elif program == "python" and args[:1] == ["-m"]:
        assert args[1].startswith("hazegov")
        _help_knows(command, _run([sys.executable, *args, "--help"]).stdout, args[2:])
    elif program == "hazegov":
        _help_knows(
            command, _run([sys.executable, "-m", "hazegov.cli", *args, "--help"]).stdout, args
        )
    elif program == "snakemake":
        if "--edit-notebook" in args:  # opens a notebook server: dry-run its target instead
            args.remove("--edit-notebook")
        _run([*SNAKEMAKE, *args, "-n"], env=env)
    elif program == "pytest":
        if "-m" in args:
            expression = args[args.index("-m") + 1]
            named = set(re.findall(r"[A-Za-z_]\w*", expression)) - {"not", "and", "or"}
            assert named <= _markers(), f"{page}: unknown markers in {command}"
    elif program == "bash":
        assert (ROOT / args[0]).is_file()
        _run(["bash", "-n", args[0]])
    elif program == "printf":
        _run(["bash", "-c", command], cwd=tmp_path)
    else:
        pytest.fail(f"{page}: `{command}` is no known entry point; run it here or exempt it")


def test_hazegov_is_the_cli_entry_point():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["project"]["scripts"]["hazegov"] == "hazegov.cli:main"


def test_the_install_and_test_commands_are_the_ones_ci_runs():
    """CI installs as the README says and runs the README's full test command."""
    readme = _doc_text(ROOT / "README.md")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    install = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]"'
    assert f"```bash\n{install}\n```" in readme and install in ci
    assert "```bash\npytest\n```" in readme and "pytest" in ci
    assert '```bash\npytest -m "not e2e and not slow"\n```' in readme


def _layout_tree() -> list[tuple[str, str]]:
    """(path, description) of each entry of the README's layout tree."""
    readme = _doc_text(ROOT / "README.md")
    block = readme.split("## Layout\n", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    entries, stack = [], []
    for line in block.splitlines()[1:]:  # the first line is "."
        match = re.match(r"((?:[│ ]   )*)[├└]── (\S+)\s*(.*)", line)
        if not match:  # a continuation line of a description
            assert re.match(r"^[│ ]*\s", line), line
            continue
        depth = len(match.group(1)) // 4
        stack[depth:] = [match.group(2).rstrip("/")]
        entries.append(("/".join(stack), match.group(3)))
    return entries


def test_the_layout_tree_is_true():
    entries = _layout_tree()
    listed = {path for path, _ in entries}
    for path in listed:
        assert (ROOT / path).exists() or (ROOT / path).is_symlink(), f"tree lists {path}"
    wanted = {
        *(f"workflow/rules/{p.name}" for p in (ROOT / "workflow" / "rules").glob("*.smk")),
        *(f"config/{p.name}" for p in (ROOT / "config").glob("*.yaml")),
        *(top for top in TOP_LEVEL if (ROOT / top).is_dir()),
    }
    assert wanted - listed == set(), "missing from the README's layout tree"
    # A rule file's description names its rules: exactly the rules the file defines.
    for path, _ in entries:
        if path.startswith("workflow/rules/") and path != "workflow/rules/common.smk":
            defined = re.findall(r"^rule (\w+):", (ROOT / path).read_text(), re.M)
            full = _rule_description(path)
            assert sorted(defined) == sorted(full), f"{path}: tree says {full}, file {defined}"


def _rule_description(path: str) -> list[str]:
    """The rule names the tree gives for one rule file, continuation lines included."""
    readme = _doc_text(ROOT / "README.md")
    block = readme.split("## Layout\n", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    name = path.rsplit("/", 1)[-1]
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if re.search(rf"── {re.escape(name)}\s", line))
    text = lines[start].split(name, 1)[1]
    for line in lines[start + 1 :]:
        if "──" in line:
            break
        text += " " + line
    return re.findall(r"\b[a-z]+(?:_[a-z]+)*\b", text.replace("│", " "))
