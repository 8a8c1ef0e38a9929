"""How fast the CLI answers (issue 21): ``--help`` and a mistyped model path's time to its error.

Every figure is a fresh ``python -m distilkit.cli ...`` process (what a user waits for), timed from
start to exit; the median of ``--repeats`` runs is kept. Measured:

- ``distilkit --help`` and ``distilkit distill --help`` (the longest command help);
- ``python -c "import distilkit"`` (what a notebook pays before it uses anything);
- ``distilkit predict --model runs/nope "hi"`` and ``distilkit distill --data rotten-tomatoes`` (no
  ``--teacher``: the default ``runs/teacher`` does not exist): wall time to the error, exit code and
  stderr line count, once with ``HF_HUB_OFFLINE=1`` and once without it (a machine with no network:
  the previous release retried the hub five times there).

``--src DIR``: the ``src`` folder to run (default: this checkout's), e.g. the previous release's for
the "before" figures. Run it under the shared lock:

    flock /tmp/distilkit-cpu.lock env PYTHONPATH=src python benchmarks/bench_cli.py --out runs/bench-cli
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CASES = {
    "help": ["--help"],
    "distill_help": ["distill", "--help"],
    "predict_mistyped_path": ["predict", "--model", "runs/nope", "hi"],
    "distill_no_teacher": ["distill", "--data", "rotten-tomatoes"],
}


def timed(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> dict[str, object]:
    """Run ``cmd`` once: wall seconds, exit code and stderr's non-empty line count."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"wall_s": round(time.perf_counter() - start, 3), "rc": None, "stderr_lines": None, "last_line": "timed out"}
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return {
        "wall_s": round(time.perf_counter() - start, 3),
        "rc": proc.returncode,
        "stderr_lines": len(lines),
        "last_line": (lines[-1] if lines else "")[:200],
    }


def measure(cmd: list[str], env: dict[str, str], cwd: Path, repeats: int, timeout: float) -> dict[str, object]:
    runs = [timed(cmd, env, cwd, timeout) for _ in range(repeats)]
    walls = [float(r["wall_s"]) for r in runs]  # type: ignore[arg-type]
    return {**runs[-1], "wall_s": round(statistics.median(walls), 3), "runs_s": walls}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=str(REPO / "src"), help="the src folder to time (default: this checkout's)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per figure (the median is kept)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds before a run counts as hung")
    ap.add_argument("--out", default="runs/bench-cli", help="folder for cli.json")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cwd = out / "cwd"  # no runs/ folder here: runs/nope and runs/teacher are missing for sure
    cwd.mkdir(exist_ok=True)
    base = {**os.environ, "PYTHONPATH": str(Path(args.src).resolve()), "TOKENIZERS_PARALLELISM": "false"}
    envs = {"offline": {**base, "HF_HUB_OFFLINE": "1"}, "no_network": {k: v for k, v in base.items() if k != "HF_HUB_OFFLINE"}}
    py = [sys.executable]
    results: dict[str, object] = {
        "import_distilkit": measure([*py, "-c", "import distilkit"], envs["offline"], cwd, args.repeats, args.timeout)
    }
    for name, argv in CASES.items():
        cmd = [*py, "-m", "distilkit.cli", *argv]
        for env_name, env in envs.items():
            if name.endswith("help") and env_name == "no_network":
                continue  # help reads no model
            repeats = args.repeats if env_name == "offline" else max(1, min(args.repeats, 2))
            results[f"{name}_{env_name}"] = measure(cmd, env, cwd, repeats, args.timeout)
    data = {
        "src": str(Path(args.src).resolve()),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "results": results,
    }
    (out / "cli.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    print(f"{'figure':<36} {'median s':>8} {'rc':>4} {'stderr lines':>12}")
    for name, r in results.items():
        r = dict(r)  # type: ignore[arg-type]
        print(f"{name:<36} {r['wall_s']:>8} {r['rc']!s:>4} {r['stderr_lines']!s:>12}")
    print(f"written: {out / 'cli.json'}")


if __name__ == "__main__":
    main()
