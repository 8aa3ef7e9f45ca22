"""What every benchmark prints about the machine it ran on (bench/*.py import it; run.py skips
modules whose name starts with an underscore)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe(with_ram: bool = True) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    if with_ram:
        gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        ram = f", {gib:.1f} GiB RAM"
    return f"{os.cpu_count()} CPUs ({cpu}){ram}, Python {platform.python_version()}"
