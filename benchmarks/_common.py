"""Helpers the benchmark scripts share: run a CLI stage with its wall time, machine facts, table text.

Every stage is one ``distilkit`` command run as a subprocess (so what a benchmark times is exactly
what a user types); its wall time and command line go into ``stages.json`` next to the runs, and a
stage whose output is already finished is reused instead of rerun (so an interrupted suite resumes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RUN_FILE = "distilkit_run.json"

# Published anchor figures (papers' own GLUE results with BERT-base teachers; not measured here).
ANCHORS: list[dict[str, str]] = [
    {"model": "DistilBERT (Sanh et al. 2019)", "pct": "97", "params": "1.7x fewer", "speed": "1.6x faster"},
    {"model": "MiniLM-L6 H384 (Wang et al. 2020)", "pct": "98", "params": "4.8x fewer", "speed": "-"},
    {"model": "TinyBERT-4 (Jiao et al. 2020)", "pct": "96.8", "params": "7.5x smaller", "speed": "9.4x faster"},
]


def anchor_rows(columns: int) -> list[str]:
    """Markdown rows of the published anchors for a table whose first 4 columns are
    model, % of teacher, parameter ratio, speed-up; the remaining columns get "-"."""
    pad = " | ".join(["-"] * max(0, columns - 4))
    return [f"| *published:* {a['model']} | {a['pct']} | {a['params']} | {a['speed']} | {pad} |" for a in ANCHORS]


def machine() -> str:
    """One line describing the machine a benchmark ran on."""
    import torch

    return (
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores visible, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), GPU: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}"
    )


def host_facts() -> str:
    """CPU model, the vector flags that decide int8/bf16 speed, and the load average (noisy neighbours)."""
    flags: set[str] = set()
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8") if f in flags]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"CPU {model}; flags {' '.join(wanted) or 'none of avx2/avx512/amx'}; load average {load}"


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def mean_std(values: Sequence[float], fmt: str = "{:.4f}") -> str:
    """ "m +/- s" over seeds ("m" alone for one value)."""
    vals = [float(v) for v in values]
    if not vals:
        return "-"
    if len(vals) == 1:
        return fmt.format(vals[0])
    return f"{fmt.format(statistics.mean(vals))} ± {fmt.format(statistics.stdev(vals))}"


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


class Stages:
    """Runs ``distilkit`` commands once each, recording wall time; reuses finished ones."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.file = root / "stages.json"
        self.record: dict[str, Any] = json.loads(self.file.read_text()) if self.file.is_file() else {}

    def _save(self) -> None:
        # merge with what another benchmark process on the same root recorded meanwhile
        on_disk = json.loads(self.file.read_text()) if self.file.is_file() else {}
        self.record = {**on_disk, **self.record}
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.record, indent=2), encoding="utf-8")
        os.replace(tmp, self.file)

    def run(self, name: str, argv: list[str], done: Path) -> dict[str, Any]:
        """Run ``distilkit argv`` unless ``done`` exists and the stage was recorded; returns its record."""
        if done.exists() and name in self.record:
            print(f"[bench] {name}: reusing {done}", flush=True)
            return self.record[name]
        command = "distilkit " + shlex.join(argv)
        print(f"[bench] {name}: {command}", flush=True)
        log = self.root / f"{name}.log"
        start = time.perf_counter()
        with log.open("w", encoding="utf-8") as f:
            proc = subprocess.run([sys.executable, "-m", "distilkit.cli", *argv], stdout=f, stderr=subprocess.STDOUT, env=cli_env())
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            tail = "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-15:])
            raise SystemExit(f"[bench] stage {name} failed (exit {proc.returncode}); log {log}:\n{tail}")
        self.record[name] = {"command": command, "wall_s": round(wall, 1), "finished": now(), "machine": machine(), "host": host_facts()}
        self._save()
        return self.record[name]

    def note(self, name: str, facts: dict[str, Any]) -> None:
        self.record[name] = facts
        self._save()


def stop_children_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so ``subprocess.run`` stops the running stage too."""
    import signal

    def _raise(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


def wait_for(path: Path, timeout_s: float, what: str) -> None:
    """Block until ``path`` exists (a shared teacher still training), checking every 30 s."""
    start = time.time()
    while not path.exists():
        if time.time() - start > timeout_s:
            raise SystemExit(f"[bench] gave up waiting {timeout_s:.0f}s for {what} ({path})")
        print(f"[bench] waiting for {what}: {path}", flush=True)
        time.sleep(30)


def shown_command(command: str, places: dict[str, str]) -> str:
    """``command`` as a reader elsewhere can retype it: each of this machine's paths in ``places`` becomes its
    placeholder (``{"/abs/teacher": "T"}``); longer paths first, so a folder inside another keeps its own name."""
    for path, name in sorted(places.items(), key=lambda kv: -len(kv[0])):
        command = command.replace(path, name)
    return command


def write_table(out: Path, topic: str, text: str) -> Path:
    """Write ``out/<topic>.md`` and print it."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{topic}.md"
    path.write_text(text, encoding="utf-8")
    print(text)
    return path
