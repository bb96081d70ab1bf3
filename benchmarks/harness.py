"""Shared pieces of the benchmarks: cached inputs, timed child processes, result rows.

Everything timed runs in a child process so its wall time includes start-up and its peak RSS
is its own: `os.wait4` returns the resource usage of exactly the child waited for (the
RUSAGE_CHILDREN maximum of the runner would mix all children together).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"


@dataclass(frozen=True)
class Measurement:
    """Median wall and CPU time and maximum peak RSS over `len(walls)` runs of one command.

    CPU seconds (user + system, all threads) are reported beside wall time because the
    benchmark machine is shared: wall time grows with other people's load, CPU time much less.
    """

    walls: list[float]
    cpus: list[float]
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str

    @property
    def wall_s(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpus)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _maxrss_bytes(ru_maxrss: int) -> int:
    # Linux reports kilobytes, macOS bytes
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    cpu_s: float  # user + system seconds of the child and all its threads
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str


def run_child(cmd: list[str], *, env: dict[str, str] | None = None) -> ChildRun:
    """Run `cmd` once in a child process and return its own time, CPU and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT,
                                env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(wall, usage.ru_utime + usage.ru_stime, _maxrss_bytes(usage.ru_maxrss), proc.returncode,
                        out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def run_once(cmd: list[str], *, env: dict[str, str] | None = None) -> tuple[float, int, int, str, str]:
    """(wall seconds, peak RSS bytes, exit code, stdout, stderr) of one run of `cmd`."""
    r = run_child(cmd, env=env)
    return r.wall_s, r.peak_rss_bytes, r.returncode, r.stdout, r.stderr


def measure(cmd: list[str], *, repeat: int = 1, env: dict[str, str] | None = None) -> Measurement:
    """Run `cmd` `repeat` times (stopping at the first failure)."""
    walls: list[float] = []
    cpus: list[float] = []
    peak = 0
    rc, stdout, stderr = 0, "", ""
    for _ in range(max(1, repeat)):
        r = run_child(cmd, env=env)
        walls.append(r.wall_s)
        cpus.append(r.cpu_s)
        peak = max(peak, r.peak_rss_bytes)
        rc, stdout, stderr = r.returncode, r.stdout, r.stderr
        if rc != 0:
            break
    return Measurement(walls, cpus, peak, rc, stdout, stderr)


def engine_cmd(*args: str) -> list[str]:
    """The `engine` console script installed next to this interpreter (else `python -m engine`)."""
    script = Path(sys.executable).with_name("engine")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "engine"]
    return [*base, *args]


def python_cmd(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


_CALL = "import importlib, json, sys; getattr(importlib.import_module(sys.argv[1]), sys.argv[2])(*json.loads(sys.argv[3]))"


def call_in_child(module: str, function: str, *args: Any) -> None:
    """Run `module.function(*args)` (JSON-able args) in a child process.

    Input generation runs in a child so the runner stays small: Linux hands a parent's peak RSS on
    to every child it starts afterwards (`ru_maxrss` survives fork and exec), which would inflate
    the peak RSS measured for the timed commands.
    """
    subprocess.run([sys.executable, "-c", _CALL, module, function, json.dumps(list(args))], cwd=ROOT, check=True)


def cached_jsonl(kind: str, n: int, seed: int = 1, **options: Any) -> Path:
    """Generate `n` records of `kind` once into benchmarks/.cache/ and reuse them afterwards."""
    from benchmarks import generate

    tag = "".join(f"-{k}{v}" for k, v in sorted(options.items()))
    path = CACHE_DIR / f"{kind}-n{n}-s{seed}{tag}-g{generate.GENERATOR_VERSION}.jsonl"
    if not path.exists():
        print(f"generating {n:,} {kind} records into {path.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        call_in_child("benchmarks.harness", "_write_generated", str(path), kind, n, seed, options)
        print(f"  done in {time.perf_counter() - start:.1f} s ({path.stat().st_size / 1e6:,.0f} MB)",
              file=sys.stderr, flush=True)
    return path


def head_sample(path: Path, lines: int) -> Path:
    """The first `lines` lines of `path` as a cached file beside it."""
    sample = path.with_name(f"{path.stem}.head{lines}.jsonl")
    if not sample.exists():
        tmp = sample.with_name(f".{sample.name}.tmp-{os.getpid()}")
        with open(path, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i >= lines:
                    break
                dst.write(line)
        os.replace(tmp, sample)
    return sample


@dataclass
class Row:
    """One line of the results table. `ratio` is this row's wall time / the main row's."""

    benchmark: str
    variant: str
    records: int
    input_bytes: int
    wall_s: float | None
    peak_rss_bytes: int | None
    cpu_s: float | None = None
    ratio: float | None = None
    note: str = ""
    ok: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def records_per_s(self) -> float | None:
        return self.records / self.wall_s if self.wall_s else None

    def as_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "variant": self.variant, "records": self.records,
                "input_bytes": self.input_bytes, "wall_s": self.wall_s, "cpu_s": self.cpu_s,
                "records_per_s": self.records_per_s,
                "peak_rss_bytes": self.peak_rss_bytes, "ratio": self.ratio, "note": self.note, "ok": self.ok,
                **self.extra}


def row_from(benchmark: str, variant: str, m: Measurement, *, records: int, input_bytes: int,
             note: str = "") -> Row:
    if not m.ok:
        tail = (m.stderr.strip().splitlines() or ["(no stderr)"])[-1][:160]
        return Row(benchmark, variant, records, input_bytes, None, m.peak_rss_bytes,
                   note=f"FAILED rc={m.returncode}: {tail}", ok=False)
    return Row(benchmark, variant, records, input_bytes, m.wall_s, m.peak_rss_bytes, m.cpu_s, note=note,
               extra={"walls": [round(w, 4) for w in m.walls]})


def set_ratios(rows: list[Row], main: Row) -> None:
    for row in rows:
        if row.wall_s and main.wall_s:
            row.ratio = row.wall_s / main.wall_s


def _write_generated(path: str, kind: str, n: int, seed: int, options: dict[str, Any]) -> None:
    from benchmarks import generate

    generate.write_jsonl(Path(path), kind, n, seed, **options)
