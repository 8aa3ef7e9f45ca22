"""Run every benchmark in bench/ in turn: each bench/*.py module with a main() (make bench).

Exits non-zero if any benchmark raised; the others still run.
"""

import importlib.util
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    # _*.py are helpers the benchmarks share, not benchmarks.
    return sorted(
        p for p in BENCH.glob("*.py") if p.name != "run.py" and not p.name.startswith("_")
    )


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    # dataclasses and pickling look modules up by name.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    failed = []
    for path in benchmarks():
        started = time.perf_counter()
        print(f"\n### {path.name}", flush=True)
        try:
            module = load(path)
            module.main()
        except Exception:
            traceback.print_exc()
            failed.append(path.name)
        print(f"### {path.name}: {time.perf_counter() - started:.1f} s", flush=True)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
