"""Start-up time of the command line: `astromask --version` and `-h` over a bare `python -c pass`.

Each command runs in a fresh process, several times; the table gives the median wall time and
the time over `python -c pass` (the target is at most 0.3 s over it). `import astromask` alone
and one real command's help (`astromask grow -h`, which imports that command) are shown for
comparison.

Run: .venv/bin/python bench/bench_cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET = 0.3  # seconds over a bare interpreter


def wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    cases = [
        ("python -c pass", [python, "-c", "pass"]),
        ("python -c 'import astromask'", [python, "-c", "import astromask"]),
        ("astromask --version", [python, "-m", "astromask", "--version"]),
        ("astromask -h", [python, "-m", "astromask", "-h"]),
        ("astromask grow -h", [python, "-m", "astromask", "grow", "-h"]),
        ("python -c 'import astromask.io' (numpy, astropy)", [python, "-c", "import astromask.io"]),
    ]
    bare = None
    print(f"| command | median wall (s) | over python -c pass (s) | target ≤ {TARGET} s over |")
    print("|---|---|---|---|")
    for label, argv in cases:
        seconds = wall(argv, args.repeat)
        bare = seconds if bare is None else bare
        over = seconds - bare
        verdict = ("met" if over <= TARGET else "MISSED") if label in ("astromask --version", "astromask -h") else ""
        print(f"| `{label}` | {seconds:.3f} | {over:+.3f} | {verdict} |")


if __name__ == "__main__":
    main()
