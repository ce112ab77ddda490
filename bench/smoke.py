"""Every benchmark at a small size, two at a time: CI runs this so that none stops working.
The figures at these sizes mean little (two share the machine); the measured ones, at full
size and one at a time, are in docs/performance.md.

    python bench/smoke.py            # exit 1 when any benchmark fails, with its output

Each benchmark's last line (its JSON figures) is printed as it finishes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SMALL = [
    ["faq_search.py", "--rounds", "2"],
    ["updates.py", "--members", "20"],
    ["members_memory.py", "--members", "500", "--warmup", "100"],
    ["stats.py", "--appeals", "1000", "--members", "200", "--rounds", "1"],
    ["broadcast.py", "--recipients", "200", "--rate", "100"],
    ["webhook.py", "--small", "--post", "100"],
    ["access.py", "--appeals", "2000", "--lawyers", "10"],
    ["retention.py", "--appeals", "500", "--members", "100", "--conversations", "500"],
]


def run(args: list[str]) -> tuple[list[str], int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / args[0]), *args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return args, done.returncode, done.stdout + done.stderr, time.monotonic() - started


def main() -> int:
    failed = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for args, code, output, seconds in pool.map(run, SMALL):
            command = " ".join(["bench/" + args[0], *args[1:]])
            if code != 0:
                failed += 1
                print(f"FAILED ({code}) {command}\n{output[-5000:]}", flush=True)
                continue
            lines = output.strip().splitlines()
            print(f"{command} ({seconds:.0f} s): {lines[-1] if lines else ''}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
