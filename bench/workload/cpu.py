"""CPU seconds of the processes in a run, of PostgreSQL's and Redis's, and of the machine,
from /proc: a snapshot before the measured phase and one after."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def named_cpu(names: Sequence[str]) -> float:
    """CPU seconds of every process whose name (comm) is one of `names`, summed. A process
    that ended in between takes its seconds with it: a difference is a lower bound."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        if comm in names:
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


@dataclass
class Snapshot:
    pids: dict[str, int]
    cpu: dict[str, float | None]
    postgres: float
    redis: float
    machine: tuple[int, int]
    at: float

    @classmethod
    def take(cls, pids: dict[str, int]) -> Snapshot:
        return cls(
            pids,
            {name: proc_cpu(pid) for name, pid in pids.items()},
            named_cpu(("postgres",)),
            named_cpu(("redis-server",)),
            machine_jiffies(),
            time.monotonic(),
        )

    def since(self, before: Snapshot) -> dict[str, Any]:
        def diff(a: float | None, b: float | None) -> float | None:
            return round(a - b, 2) if a is not None and b is not None else None

        cpu: dict[str, float | None] = {
            name: diff(self.cpu[name], before.cpu[name]) for name in self.pids
        }
        cpu["postgres_all"] = round(self.postgres - before.postgres, 2)
        cpu["redis_server"] = round(self.redis - before.redis, 2)
        busy = self.machine[0] - before.machine[0]
        total = self.machine[1] - before.machine[1]
        # Whatever else ran on the machine meanwhile (other jobs, the kernel's own work).
        cpu["everything_else"] = round(busy / TICK - sum(x for x in cpu.values() if x), 2)
        return {
            "cpu_s": cpu,
            "wall_s": round(self.at - before.at, 2),
            "machine_busy_pct": round(100 * busy / total, 1) if total else None,
        }
