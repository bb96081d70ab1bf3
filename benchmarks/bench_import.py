"""`engine import otel` of N generated OpenTelemetry GenAI spans (SPEC §12, issue 9).

- input: span-per-line JSONL in the OTLP span shape (attributes as key/value lists, the costlier
  form), traces of 8 spans (invoke_agent, 3 chat with usage and finish reasons, 4 execute_tool
  with arguments and results), seeded;
- main: `engine import otel FILE --out X.jsonl --report json` end to end;
- the reference: a per-record Python importer (json.loads per span, dicts grouped per trace,
  json.dumps per run), timed on a sample and extrapolated linearly to N.
Target: 1,000,000 spans in <= 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Row,
    engine_cmd,
    head_sample,
    measure,
    python_cmd,
    row_from,
    run_once,
    set_ratios,
)

DESCRIPTION = "engine import otel of N GenAI spans (OTLP span shape) vs a per-record Python importer"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
REFERENCE_SAMPLE = 20_000
TARGET_WALL_S, TARGET_N = 60.0, 1_000_000
_TOOLS = ("get_weather", "search", "read_file", "write_file", "run_sql", "send_email")
_MODELS = ("gpt-4o", "claude-sonnet", "gemini-pro")
_REASONS = ("stop", "length", "tool_calls")


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": value}}


def _trace(rng: random.Random, t: int) -> list[dict[str, Any]]:
    trace_id = f"{t:032x}"
    start = 1_735_689_600_000_000_000 + t * 10_000_000_000
    model = rng.choice(_MODELS)
    spans = [{"traceId": trace_id, "spanId": f"{t:08x}00000000", "name": "invoke_agent bench", "kind": 1,
              "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 9_000_000_000),
              "attributes": [_kv("gen_ai.operation.name", "invoke_agent"), _kv("gen_ai.agent.name", "bench"),
                             _kv("gen_ai.provider.name", "openai")]}]
    for i in range(1, 8):
        begin = start + i * 1_000_000_000
        span: dict[str, Any] = {"traceId": trace_id, "spanId": f"{t:08x}{i:08x}", "parentSpanId": f"{t:08x}00000000",
                                "kind": 3, "startTimeUnixNano": str(begin), "endTimeUnixNano": str(begin + 500_000_000)}
        if i % 2:
            span["name"] = f"chat {model}"
            span["attributes"] = [
                _kv("gen_ai.operation.name", "chat"), _kv("gen_ai.provider.name", "openai"),
                _kv("gen_ai.request.model", model), _kv("gen_ai.request.max_tokens", 512),
                _kv("gen_ai.usage.input_tokens", rng.randint(50, 4000)),
                _kv("gen_ai.usage.output_tokens", rng.randint(1, 512)),
                _kv("gen_ai.response.finish_reasons", [rng.choice(_REASONS)])]
        else:
            tool = rng.choice(_TOOLS)
            span["name"] = f"execute_tool {tool}"
            span["attributes"] = [
                _kv("gen_ai.operation.name", "execute_tool"), _kv("gen_ai.tool.name", tool),
                _kv("gen_ai.tool.call.id", f"call_{t}_{i}"),
                _kv("gen_ai.tool.call.arguments", json.dumps({"q": f"item {rng.randint(0, 10**6)}"})),
                _kv("gen_ai.tool.call.result", json.dumps({"ok": True, "rows": rng.randint(0, 99)}))]
            if rng.random() < 0.05:
                span["status"] = {"code": 2, "message": "tool failed"}
        spans.append(span)
    return spans


def cached_spans(n: int, seed: int) -> Path:
    path = CACHE_DIR / f"otel-spans-n{n}-s{seed}.jsonl"
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        rng = random.Random(seed)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        written = 0
        with open(tmp, "w", encoding="utf-8") as fh:
            t = 0
            while written < n:
                for span in _trace(rng, t)[: n - written]:
                    fh.write(json.dumps(span, separators=(",", ":")) + "\n")
                    written += 1
                t += 1
        os.replace(tmp, path)
    return path


_REFERENCE = """
import json, sys, time
start = time.perf_counter()
runs = {}
with open(sys.argv[1], encoding="utf-8") as fh:
    for line in fh:
        span = json.loads(line)
        attrs = {a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])}
        run = runs.setdefault(span["traceId"], {"schema_version": "aep/v0.5", "run_id": "otel/" + span["traceId"],
                                                "created_at_ms": 0, "actions": [], "usage": [0, 0]})
        if attrs.get("gen_ai.operation.name") == "execute_tool":
            run["actions"].append({"action_id": span["spanId"], "tool_name": attrs.get("gen_ai.tool.name"),
                                   "state_changing": False, "timestamp_ms": int(span["startTimeUnixNano"]) / 1e6})
        run["usage"][0] += int(attrs.get("gen_ai.usage.input_tokens", 0))
        run["usage"][1] += int(attrs.get("gen_ai.usage.output_tokens", 0))
out = [json.dumps(r) for r in runs.values()]
print(json.dumps({"n": sum(1 for _ in open(sys.argv[1])), "seconds": time.perf_counter() - start}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=100_000, help="spans (target: 1,000,000 in <= 60 s)")
    parser.add_argument("--no-baselines", action="store_true", help="time only the engine")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    path = cached_spans(args.n, args.seed)
    size = path.stat().st_size
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        out = workdir / "otel.aep.jsonl"
        m = measure(engine_cmd("import", "otel", str(path), "--out", str(out), "--report", "json"), repeat=args.repeat)
        main = row_from("import", "engine import otel (span-per-line, OTLP attributes)", m, records=args.n,
                        input_bytes=size)
        rows = [main]
        if main.ok:
            summary = json.loads(m.stdout)
            main.note = (f"runs {summary['records_written']:,}, quarantined {summary['quarantined']:,}; "
                         f"target <= {TARGET_WALL_S:.0f} s at {TARGET_N:,}")
        if not args.no_baselines:
            sample = head_sample(path, REFERENCE_SAMPLE)
            wall, rss, rc, stdout, _ = run_once(python_cmd(_REFERENCE, str(sample)))
            if rc == 0:
                ref = json.loads(stdout)
                per = ref["seconds"] / max(1, ref["n"])
                rows.append(Row("import", f"per-record Python importer (extrapolated from {ref['n']:,})",
                                args.n, size, per * args.n, rss))
        set_ratios(rows, main)
        return [r.as_dict() for r in rows]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
