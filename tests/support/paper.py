"""The paper's test builds: the real paper staged once per session, the minimal fixture paper."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

from hazegov.strands import STRANDS, stage_paper
from tests.support.paths import FIXTURES, ROOT
from tests.support.workflow import make_workdir, run_snakemake

PAPER = ROOT / "paper"
# What the rule stage_paper_sources copies (workflow/rules/common.smk, paper_sources()).
STAGED_PATTERNS = ("*.qmd", "_quarto.yml", "*.bib", "*.csl", "*.css", "*.typ")
FRESH_BUILD_ENV = "HAZEGOV_TEST_FRESH_PAPER"  # set to build `.test` even when results/ exists
MINIMAL_PAPER = FIXTURES / "paper_minimal"
CHINESE_SUBTITLE = "北京雾霾治理问卷调查"


def png(width: int = 8, height: int = 4, rgb: tuple[int, int, int] = (60, 60, 200)) -> bytes:
    """A tiny valid RGB PNG of one colour, so no binary file needs to be committed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def stage_real_paper(base: Path) -> Path:
    """The paper's build directory with today's sources; made once per test session under
    ``base`` (the session's base temp dir), so every test module shares it."""
    build = base / "real-paper" / "paper"
    done = build.parent / "staged.ok"
    if done.is_file():
        return build
    if build.parent.exists():
        shutil.rmtree(build.parent)
    generated = ROOT / "results" / "paper"
    if os.environ.get(FRESH_BUILD_ENV) or not (generated / "_variables.yml").is_file():
        workdir = make_workdir(build.parent / "workflow")
        # everything the render needs, not the render: the checks, not the renderer's first
        # error, should report what is wrong with the sources
        run = run_snakemake(workdir, "--cores", "2", "--omit-from", "render_paper")
        assert run.returncode == 0, run.stderr[-4000:]
        generated = workdir / "results" / "paper"
    shutil.copytree(generated, build, ignore=shutil.ignore_patterns("_output", ".quarto"))
    sources = sorted({source for pattern in STAGED_PATTERNS for source in PAPER.glob(pattern)})
    # as the rule stages them with every strand on: without the strand markers
    stage_paper(
        sources,
        [build / source.relative_to(PAPER) for source in sources],
        dict.fromkeys(STRANDS, True),
    )
    done.touch()
    return build


def stage_minimal_paper(target: Path) -> Path:
    """The minimal fixture paper (`fixtures/paper_minimal`) with its figure, in ``target``."""
    shutil.copytree(MINIMAL_PAPER, target)
    (target / "figures").mkdir()
    (target / "figures" / "flow.png").write_bytes(png(40, 20, rgb=(200, 60, 60)))
    return target
