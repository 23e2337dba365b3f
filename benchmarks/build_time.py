"""Cold build and no-op rerun times of the default pipeline, printed as figures.

Usage: python benchmarks/build_time.py [--cores 4] [--repeat 3]

Each repetition copies the checkout's config, raw data, paper sources and workflow into a fresh
temporary directory, so nothing from an earlier build is reused. Goals on the 2-core machine:
cold build under 60 s with the preview renderer, no-op rerun under 3 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("Snakefile", "workflow", "config", "data", "paper")


def _timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", default="4")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    snakemake = [sys.executable, "-m", "snakemake", "--cores", args.cores]
    cold, noop = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for name in COPIED:
                src = ROOT / name
                (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
            cold.append(_timed(snakemake, work))
            noop.append(_timed(snakemake, work))
    print(
        f"cold build  (snakemake --cores {args.cores}): "
        f"median {statistics.median(cold):6.1f} s  runs {', '.join(f'{t:.1f}' for t in cold)}"
    )
    print(
        f"no-op rerun (snakemake --cores {args.cores}): "
        f"median {statistics.median(noop):6.1f} s  runs {', '.join(f'{t:.1f}' for t in noop)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
