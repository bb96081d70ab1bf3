"""Builders of realistic, structurally valid records, one seeded `random.Random` per stream.

Every builder draws only from the generator it is given, so a stream is a pure function of its
seed. Field names and types follow the canonical wasmagent-protocol schemas (aep-record,
rollout-wire/v1, compliance-eval-record/v1) and the case-study eval-log shape.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Iterator, Sequence
from typing import Any

AEP_VERSIONS = ("aep/v0.1", "aep/v0.2", "aep/v0.3", "aep/v0.4", "aep/v0.5")
AEP_VERSION_WEIGHTS = (0.15, 0.2, 0.25, 0.2, 0.2)

# (provider, model id): a handful, as in a real fleet.
MODELS = (
    ("anthropic", "claude-sonnet-4-6"),
    ("anthropic", "claude-haiku-4-5"),
    ("openai", "gpt-4.1-mini"),
    ("openai", "o4-mini"),
    ("qwen", "qwen2.5-1.5b-instruct"),
    ("meta", "llama-3.1-8b-instruct"),
)
MODEL_WEIGHTS = (0.3, 0.15, 0.2, 0.1, 0.15, 0.1)

# tool name -> (state_changing, resource prefix, side-effect class)
TOOLS: dict[str, tuple[bool, str, str]] = {
    "read_file": (False, "fs:/workspace/", "read"),
    "list_dir": (False, "fs:/workspace/", "read"),
    "search": (False, "index:code/", "read"),
    "run_tests": (False, "kernel:pytest/", "read"),
    "http_get": (False, "net:https://api.example.com/", "network-egress"),
    "write_file": (True, "fs:/workspace/", "mutate-local"),
    "apply_patch": (True, "fs:/workspace/", "mutate-local"),
    "execute_code": (True, "kernel:quickjs/", "mutate-local"),
    "http_post": (True, "net:https://api.example.com/", "mutate-external"),
}
TOOL_NAMES = tuple(TOOLS)
TOOL_WEIGHTS = (0.22, 0.08, 0.12, 0.14, 0.06, 0.14, 0.1, 0.1, 0.04)
SIDE_EFFECT_ORDER = ("read", "mutate-local", "network-egress", "mutate-external")

DECISIONS = ("allow", "deny", "ask_user", "dry_run")
DECISION_WEIGHTS = (0.76, 0.12, 0.09, 0.03)
VERIFIERS = ("build-passes", "unit-tests", "lint-clean", "schema-check", "llm-judge", "repair-verifier")
VERIFIER_WEIGHTS = (0.3, 0.3, 0.12, 0.12, 0.1, 0.06)
AGENTS = ("agent-coder", "agent-researcher", "agent-reviewer", "agent-ops")
FILES = ("src/parser.py", "src/lexer.py", "tests/test_parser.py", "README.md", "src/app.ts",
         "lib/utils.js", "Cargo.toml", "src/main.rs", "docs/guide.md", "config/settings.yaml")
# Backing grades, weakest first (the order AEP v0.5 defines for the floor).
BACKING_ORDER = ("unknown", "operator_asserted", "principal_key_signed", "qualified_signature")
TASKS = (
    "implement a fibonacci function in JavaScript",
    "write a function that reverses a string",
    "fix the failing test in tests/test_parser.py",
    "add pagination to the /users endpoint",
    "summarise the design document in two sentences",
    "refactor the lexer to drop the global state",
    "write a SQL query for the top 10 customers by revenue",
    "port the CSV reader to Rust",
    "explain why the build fails on Windows",
    "écris une fonction qui trie une liste de noms accentués",
    "实现一个快速排序函数",
    "add type hints to src/utils.py",
    "find and fix the off-by-one error in the pager",
    "write unit tests for the date parser",
    "upgrade the dependency lock and rerun the tests",
)


_CUMULATIVE: dict[tuple[float, ...], tuple[list[float], float]] = {}


def pick(rng: random.Random, population: Sequence[Any], weights: tuple[float, ...]) -> Any:
    """One weighted draw; like `rng.choices(...)[0]` without rebuilding the cumulative weights."""
    table = _CUMULATIVE.get(weights)
    if table is None:
        cum = list(itertools.accumulate(weights))
        table = _CUMULATIVE[weights] = (cum, cum[-1])
    return population[bisect.bisect(table[0], rng.random() * table[1])]


def hex_digest(rng: random.Random, bits: int = 256) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _pool(rng: random.Random, size: int, bits: int = 256) -> list[str]:
    return [hex_digest(rng, bits) for _ in range(size)]


class AepBuilder:
    """Builds AEP records aep/v0.1..v0.5; pools give the repeated values real dumps show."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.commits = _pool(rng, 40, 160)
        self.policies = _pool(rng, 6)
        self.manifests = _pool(rng, 12)
        self.environments = _pool(rng, 10)
        self.locks = _pool(rng, 10)
        self.cards = _pool(rng, 5)
        self.descriptors = {t: hex_digest(rng) for t in TOOL_NAMES}
        self.t0 = 1_750_900_000_000

    def record(self, i: int) -> dict[str, Any]:
        rng = self.rng
        r = rng.random
        vi = pick(rng, range(5), AEP_VERSION_WEIGHTS)
        provider, model_id = pick(rng, MODELS, MODEL_WEIGHTS)
        suffix = hex_digest(rng, 48)
        run_id = f"run-{suffix}-{i:07d}"
        created = self.t0 + i * 1500 + rng.randrange(1000)
        agent = rng.choice(AGENTS)
        task = rng.choice(TASKS)

        n_actions = pick(rng, range(8), (0.24, 0.46, 0.17, 0.07, 0.03, 0.01, 0.01, 0.01))
        tools = [pick(rng, TOOL_NAMES, TOOL_WEIGHTS) for _ in range(n_actions)]
        recording_mode = pick(rng, ("full", "delta", "validation"), (0.6, 0.3, 0.1)) if vi >= 2 else None

        rec: dict[str, Any] = {
            "schema_version": AEP_VERSIONS[vi],
            "run_id": run_id,
            "trace_id": hex_digest(rng, 128),
            "repo_commit": rng.choice(self.commits),
            "runtime_version": rng.choice(("1.0.3", "1.1.0", "1.2.0", "1.2.1-rc1")),
            "model_provider": provider,
            "model_id": model_id,
        }
        if r() < 0.75:
            rec["policy_bundle_digest"] = rng.choice(self.policies)
        if r() < 0.3:
            rec["parent_trace_id"] = hex_digest(rng, 128) if r() < 0.4 else None
        if r() < 0.88:
            rec["tool_manifest_digest"] = rng.choice(self.manifests)
        if r() < 0.15:
            rec["mcp_server_card_digest"] = rng.choice(self.cards) if r() < 0.6 else None
        rec["input_refs"] = self._input_refs(task)
        rec["output_refs"] = self._output_refs()
        decisions = self._decisions(tools, agent)
        rec["capability_decisions"] = decisions
        rec["actions"] = self._actions(tools, suffix, created, vi, recording_mode, decisions)
        rec["verifier_results"] = self._verifiers()
        rec["budget_ledger"] = self._budget(n_actions, decisions)
        rec["created_at_ms"] = created
        if r() < 0.6:
            rec["run_context"] = self._run_context(agent)
        if vi >= 2:
            classes = [TOOLS[t][2] for t in tools] or ["read"]
            rec["recording_mode"] = recording_mode
            rec["side_effect_class"] = classes[-1]
            rec["run_side_effect_class_max"] = max(classes, key=SIDE_EFFECT_ORDER.index)
            if r() < 0.3:
                rec["user_id"] = f"user-{rng.randrange(5000):05d}"
            if r() < 0.4:
                rec["subject_id"] = f"{agent}@{rng.choice(('acme', 'globex', 'initech'))}"
            if tools and r() < 0.05:
                rec["argument_drift"] = {
                    "tool_name": tools[0],
                    "declared_digest": hex_digest(rng),
                    "actual_digest": hex_digest(rng),
                    "diff_summary": "path argument changed after approval",
                    "drifted_args": ["path"],
                }
        if vi == 4 and r() < 0.8:
            self._attribution(rec)
        if r() < 0.2:
            rec["task"] = task
        return rec

    def _input_refs(self, task: str) -> list[dict[str, Any]]:
        rng = self.rng
        refs: list[dict[str, Any]] = [{"uri": f"task://{task[:24].replace(' ', '-')}"}]
        if rng.random() < 0.6:
            refs[0]["digest"] = hex_digest(rng)
        refs[0]["taint_labels"] = []
        for _ in range(pick(rng, (0, 1, 2), (0.75, 0.2, 0.05))):
            ref: dict[str, Any] = {"uri": f"file:///workspace/{rng.choice(FILES)}", "digest": hex_digest(rng)}
            ref["taint_labels"] = ["untrusted-web"] if rng.random() < 0.15 else []
            refs.append(ref)
        return refs

    def _output_refs(self) -> list[dict[str, Any]]:
        rng = self.rng
        out: list[dict[str, Any]] = [{"uri": "answer://final", "digest": hex_digest(rng)}]
        if rng.random() < 0.15:
            ref = {"uri": f"file:///workspace/{rng.choice(FILES)}", "digest": hex_digest(rng)}
            if rng.random() < 0.3:
                ref["redaction_profile"] = rng.choice(("pii-basic", "secrets-v2"))
            out.append(ref)
        return out

    def _decisions(self, tools: list[str], agent: str) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        for tool in dict.fromkeys(tools):
            # producers log a decision for every state-changing tool, for reads only sometimes
            if not TOOLS[tool][0] and rng.random() < 0.5:
                continue
            decision = pick(rng, DECISIONS, DECISION_WEIGHTS)
            entry = {"capability": tool, "subject": f"agent:{agent}",
                     "resource": TOOLS[tool][1] + rng.choice(FILES), "decision": decision}
            if rng.random() < 0.8:
                entry["reason_code"] = f"policy:default-{decision.replace('_', '-')}-{tool.replace('_', '-')}"
            out.append(entry)
        return out

    def _actions(self, tools: list[str], suffix: str, created: int, vi: int,
                 mode: str | None, decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rng = self.rng
        r = rng.random
        asked = {d["capability"] for d in decisions if d["decision"] == "ask_user"}
        chain = f"chain-{suffix}"
        ts = created - 1000 * len(tools) - 500
        out = []
        for k, tool in enumerate(tools):
            changing = TOOLS[tool][0]
            ts += rng.randrange(50, 1000)
            act: dict[str, Any] = {"action_id": f"act-{suffix}-{k}", "tool_name": tool, "state_changing": changing}
            if changing and r() < 0.6:
                act["precondition_digest"] = hex_digest(rng)
            if r() < (0.8 if changing else 0.6):
                act["result_digest"] = hex_digest(rng)
            act["evidence_refs"] = [f"evidence://{suffix}/{k}"] if r() < 0.25 else []
            act["timestamp_ms"] = ts
            if vi >= 1:
                if k and r() < 0.5:
                    act["parent_action_id"] = f"act-{suffix}-{k - 1}"
                if r() < 0.4:
                    act["causal_chain_id"] = chain
                if changing and r() < 0.2:
                    act["scope_lease_id"] = f"lease-{rng.randrange(10**6):06d}"
                if r() < 0.3:
                    act["input_taint_labels"] = rng.choice((["untrusted-web"], ["user-input"], []))
                if r() < 0.15:
                    act["memory_read_refs"] = [f"mem://{suffix}/{rng.randrange(20)}"]
            if vi >= 2:
                if r() < 0.3:
                    act["tool_descriptor_digest"] = self.descriptors[tool]
                if changing and mode == "delta":
                    act["pre_state_digest"] = hex_digest(rng)
                    act["post_state_digest"] = hex_digest(rng)
            if tool in asked:
                act["approval_context_hash"] = hex_digest(rng)
            out.append(act)
        return out

    def _verifiers(self) -> list[dict[str, Any]]:
        rng = self.rng
        n = pick(rng, (0, 1, 2, 3), (0.12, 0.5, 0.3, 0.08))
        out = []
        for vid in dict.fromkeys([pick(rng, VERIFIERS, VERIFIER_WEIGHTS) for _ in range(n)]):
            passed = rng.random() < 0.78
            score = round(rng.uniform(0.7, 1.0) if passed else rng.uniform(0.0, 0.5), 3)
            entry: dict[str, Any] = {"verifier_id": vid, "passed": passed, "score": score}
            if rng.random() < 0.5:
                entry["claim_ids"] = rng.choice((["output-is-correct"], ["tests-pass", "no-regressions"]))
            out.append(entry)
        return out

    def _budget(self, n_actions: int, decisions: list[dict[str, Any]]) -> dict[str, Any]:
        rng = self.rng
        limit = rng.choice((4096, 8192, 16384, 32768))
        limit_ms = rng.choice((30000, 60000, 120000))
        ledger: dict[str, Any] = {
            "token_budget": {"limit": limit, "spent": rng.randrange(150, limit)},
            "latency_budget": {"limit_ms": limit_ms, "actual_ms": rng.randrange(300, limit_ms)},
        }
        if n_actions or rng.random() < 0.5:
            ledger["tool_budget"] = {"limit": 10, "spent": n_actions}
        if rng.random() < 0.3:
            ledger["retry_budget"] = {"limit": 3, "spent": rng.randrange(4)}
        if rng.random() < 0.15:
            ledger["risk_budget"] = {"limit": 1.0, "spent": round(rng.random(), 2)}
        if any(d["decision"] == "ask_user" for d in decisions):
            ledger["human_approval_budget"] = {"limit": 5, "spent": 1}
        return ledger

    def _run_context(self, agent: str) -> dict[str, Any]:
        rng = self.rng
        ctx: dict[str, Any] = {"agent_id": agent, "agent_version": rng.choice(("0.9.2", "1.0.0", "1.1.4"))}
        if rng.random() < 0.2:
            ctx["subagent_id"] = f"{agent}-sub-{rng.randrange(4)}"
        ctx["delegation_chain"] = ["orchestrator", agent] if rng.random() < 0.3 else []
        if rng.random() < 0.7:
            ctx["environment_digest"] = rng.choice(self.environments)
        if rng.random() < 0.5:
            ctx["dependency_lock_digest"] = rng.choice(self.locks)
        return ctx

    def _attribution(self, rec: dict[str, Any]) -> None:
        rng = self.rng
        observed = rng.sample(BACKING_ORDER, pick(rng, (1, 2, 3), (0.6, 0.3, 0.1)))
        rec["attribution_backing"] = observed[0]
        rec["run_attribution_backing_floor"] = min(observed, key=BACKING_ORDER.index)
        rec["run_attribution_backing_observed"] = observed
        rec["authority_origin"] = rng.choice(("subject_consented", "administrator_assigned",
                                              "organization_wide", "unknown"))
        rec["authorization_evidence_count"] = len(observed) + rng.randrange(3)
        if rng.random() < 0.3:
            rec["authorized_by"] = f"admin-{rng.randrange(50):02d}"
        rec["identity_source"] = rng.choice(("self_asserted", "organization_attested", "notified_eid",
                                             "qualified_certificate", "unknown"))


def aep_records(n: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    builder = AepBuilder(rng)
    for i in range(n):
        yield builder.record(i)


# ---------------------------------------------------------------------------------------------
# rollout-wire/v1
# ---------------------------------------------------------------------------------------------

_ERRORS = ("AssertionError: expected 55, got 34", "SyntaxError: unexpected token '}'",
           "TypeError: cannot read properties of undefined", "1 failed, 11 passed")


def _tool_calls(rng: random.Random, task: str, passed: bool) -> list[tuple[str, dict[str, Any], Any, str | None]]:
    calls = []
    for k in range(pick(rng, (0, 1, 2, 3, 4), (0.15, 0.3, 0.3, 0.15, 0.1))):
        tool = rng.choice(("read_file", "write_file", "run_tests", "execute_code", "search"))
        if tool in ("read_file", "write_file"):
            args: dict[str, Any] = {"path": rng.choice(FILES)}
        elif tool == "search":
            args = {"query": task.split()[-1], "limit": 5}
        else:
            args = {"language": "javascript", "code": f"// step {k} for: {task}"}
        error = None
        if not passed and rng.random() < 0.3:
            result: Any = None
            error = rng.choice(_ERRORS)
        elif tool == "run_tests":
            result = {"passed": 12 if passed else 11, "failed": 0 if passed else 1}
        else:
            result = {"ok": True, "bytes": rng.randrange(40, 4000)}
        calls.append((tool, args, result, error))
    return calls


def _as_entries(calls: list[tuple[str, dict[str, Any], Any, str | None]]) -> list[dict[str, Any]]:
    return [{"tool_name": t, "arguments": a, "result": res, "error": e} for t, a, res, e in calls]


def _as_agent_events(calls: list[tuple[str, dict[str, Any], Any, str | None]],
                     prefix: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for k, (tool, args, res, err) in enumerate(calls):
        call_id = f"{prefix}-c{k}"
        events.append({"channel": "tool", "event": "tool_call",
                       "data": {"toolName": tool, "args": args, "callId": call_id}})
        error: Any = {"message": err} if err else None
        events.append({"channel": "tool", "event": "tool_result",
                       "data": {"callId": call_id, "toolName": tool, "output": res, "error": error}})
    return events


def rollout_records(n: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """`n` branch records, grouped 2-4 branches per rollout (the last group may be shorter)."""
    made = 0
    task_no = 0
    while made < n:
        k = min(n - made, pick(rng, (2, 3, 4), (0.25, 0.4, 0.35)))
        base_task = rng.choice(TASKS)
        task = f"{base_task} (case {task_no})"
        rollout_id = f"rollout-{hex_digest(rng, 64)}-{task_no:06d}"
        session = f"session-{hex_digest(rng, 32)}"
        provider, model_id = pick(rng, MODELS, MODEL_WEIGHTS)
        agent_events = rng.random() < 0.45
        created = 1_750_910_000_000 + task_no * 60_000
        branches = []
        for b in range(k):
            status = pick(rng, ("pass", "fail", "unknown"), (0.45, 0.45, 0.1))
            calls = _tool_calls(rng, task, status == "pass")
            seq = _as_agent_events(calls, f"{session}-b{b}") if agent_events else _as_entries(calls)
            build: dict[str, Any] | None
            if status == "pass":
                build = {"status": "pass", "exit_code": 0, "stderr": ""}
                total = round(rng.uniform(0.6, 1.0), 4)
                answer = f"Done: {task}. All {rng.randrange(3, 30)} tests pass."
            elif status == "fail":
                build = {"status": "fail", "exit_code": rng.choice((1, 2, 101)), "stderr": rng.choice(_ERRORS)}
                total = round(rng.uniform(0.0, 0.5), 4)
                answer = rng.choice(("I could not finish the task.", f"Partial attempt at: {task}", ""))
            else:
                build = None if rng.random() < 0.6 else {"status": "skip"}
                total = 0.0
                answer = f"Proposed change for: {task}"
            rec: dict[str, Any] = {
                "schema_version": "rollout-wire/v1",
                "rollout_id": rollout_id,
                "task": task,
                "branch_index": b,
                "temperature": rng.choice((0.2, 0.7, 1.0)),
                "session_id": session,
                "tool_call_sequence": seq,
                "final_answer": answer,
                "build_result": build,
                "seed": rng.randrange(2**31) if rng.random() < 0.7 else None,
                "objective_score": 1 if status == "pass" else 0,
                "objective_status": status,
                "rank": 0,
                "total_score": total,
                "provenance": {"source": "wasmagent-rollout", "redaction_version": "v2",
                               "evidence_source": rng.choice(("attested", "self_reported")),
                               "session_id": session, "created_at_ms": created + b * 1000,
                               "model_provider": provider, "model_id": model_id},
            }
            if rng.random() < 0.3:
                rec["verifier_results"] = [{"verifier_id": "build-passes", "passed": status == "pass",
                                            "evidence_source": "attested",
                                            "signer": {"key_id": "ci-sample-key"}}]
            branches.append(rec)
        # rank 1 = best total_score; ties keep branch order
        for rank, rec in enumerate(sorted(branches, key=lambda x: -x["total_score"]), start=1):
            rec["rank"] = rank
        yield from branches
        made += k
        task_no += 1


# ---------------------------------------------------------------------------------------------
# compliance-eval-record/v1
# ---------------------------------------------------------------------------------------------

CONSTRAINTS = (
    ("c_title", "hard", "format", "response is missing a title wrapped in <<...>>"),
    ("c_len", "soft", "style", "response exceeds 120 words"),
    ("c_actions", "hard", "content", "missing the 'Action List:' section"),
    ("c_tool", "hard", "tool", "called a tool outside the allowed list"),
    ("c_secret", "hard", "security", "artifact contains something that looks like an API key"),
    ("c_json", "hard", "format", "output is not valid JSON"),
    ("c_lang", "soft", "semantic", "answer is not in the requested language"),
)
COMPLIANCE_MODELS = ("qwen2.5-1.5b", "qwen2.5-7b", "llama-3.1-8b", "gpt-4.1-mini")


def compliance_records(n: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    model = COMPLIANCE_MODELS[0]
    for i in range(n):
        # each task runs in the three modes with one model, as a cross-mode study does
        task_id = f"task-{i // 3:05d}"
        mode = ("direct", "prompt_retry", "full_pcl")[i % 3]
        if mode == "direct":
            model = rng.choice(COMPLIANCE_MODELS)
        picked = rng.sample(CONSTRAINTS, pick(rng, (0, 1, 2), (0.45, 0.4, 0.15)))
        violations: list[dict[str, Any]] = [{"constraint_id": c, "level": lv, "category": cat, "hint": hint,
                       "detected_at": rng.choice(("pre_decode", "post_decode", "post_tool_call"))}
                      for c, lv, cat, hint in picked]
        if violations and rng.random() < 0.3:
            violations[0]["evidence_span"] = {"char_range": [0, rng.randrange(10, 200)]}
        repairs: list[dict[str, Any]] = []
        remaining = [v["constraint_id"] for v in violations]
        if mode != "direct":
            for rnd in range(1, 4):
                if not remaining:
                    break
                ok = rng.random() < 0.7
                target = list(remaining)
                remaining = [] if ok else remaining[1:] if rng.random() < 0.5 else remaining
                repairs.append({"round": rnd, "violation_ids": target,
                                "strategy": rng.choice(("patch", "insert_section", "regenerate_region", "full")),
                                "ok": ok, "rolled_back": (not ok) and rng.random() < 0.3,
                                "remaining_violation_ids": remaining,
                                "token_cost": {"prompt": rng.randrange(20, 200),
                                               "generation": rng.randrange(20, 300)},
                                "latency_ms": rng.randrange(100, 2000)})
        hard_ids = {v["constraint_id"] for v in violations if v["level"] == "hard"}
        hard_left = bool(hard_ids.intersection(remaining))
        rec: dict[str, Any] = {
            "schema_version": "compliance-eval-record/v1",
            "task_id": task_id,
            "task_spec_hash": hashlib.sha256(task_id.encode()).hexdigest(),
            "model": model,
            "mode": mode,
            "violations": violations,
            "repair_trace": repairs,
            "repair_rounds": len(repairs),
            "final_pass": not hard_left,
            "artifact": f"<<Report {task_id}>>\nWater evaporates, condenses and falls again.\nAction List:\n- "
                        f"check item {rng.randrange(100)}",
            "token_cost": {"prompt": rng.randrange(30, 400), "generation": rng.randrange(30, 600),
                           "repair": sum(x["token_cost"]["generation"] for x in repairs)},
            "latency_ms": round(rng.uniform(200, 5000), 1),
        }
        if rng.random() < 0.04:
            rec["final_pass"] = False
            rec["error"] = {"kind": rng.choice(("model_error", "verifier_error", "workspace_error")),
                            "message": "CUDA out of memory", "stage": "generate"}
        yield rec


# ---------------------------------------------------------------------------------------------
# greedy-eval logs (case-study shape): A = baseline, B = candidate, same item ids
# ---------------------------------------------------------------------------------------------

_STEPS = ("First, compute the total: {a} + {b} = {s}.", "Each box holds {a} items, so {b} boxes hold {p}.",
          "Subtract what was used: {s} - {a} = {b}.", "Half of {p} is {h}.",
          "So the remaining amount is {s} - {b} = {a}.")


def _reasoning(rng: random.Random, steps: int) -> str:
    lines = []
    for _ in range(steps):
        a, b = rng.randrange(2, 90), rng.randrange(2, 90)
        lines.append(rng.choice(_STEPS).format(a=a, b=b, s=a + b, p=a * b, h=a * b / 2))
    return "\n".join(lines)


def _item(rng: random.Random, item_id: str, expected: str, correct: bool, truncated: bool,
          max_new_tokens: int) -> dict[str, Any]:
    wrong = str(int(expected) + rng.choice((-3, -1, 1, 2, 10)))
    if truncated:
        # characters / 2 must reach max_new_tokens - 8 for the truncation heuristic to fire
        text = _reasoning(rng, 4)
        while len(text) < 2 * max_new_tokens + 40:
            text += "\n" + _reasoning(rng, 3)
        text = text[: 2 * max_new_tokens + rng.randrange(0, 40)]
        numbers = [w for w in text.replace(".", " ").split() if w.isdigit()]
        predicted = numbers[-1] if numbers and rng.random() < 0.7 else None
        correct = predicted == expected
    else:
        predicted = expected if correct else wrong
        text = f"{_reasoning(rng, rng.randrange(2, 6))}\nTherefore the answer is {predicted}. #### {predicted}"
    return {"id": item_id, "expected": expected, "predicted": predicted, "correct": correct, "gen_text": text}


def eval_logs(n: int, rng: random.Random, max_new_tokens: int = 300) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two logs over the same ids. A (baseline) is truncated far more often than B, so B's naive
    accuracy is higher while the two agree on items truncated in neither: the case-study trap."""
    width = max(3, len(str(n - 1)))
    a_items, b_items = [], []
    error_at = rng.randrange(n) if n else -1
    for i in range(n):
        item_id = f"gsm8k-{i:0{width}d}"
        expected = str(rng.randrange(5, 2000))
        skill = rng.random()
        correct_a = skill < 0.66
        # B agrees with A most of the time (paired data), flips either way occasionally
        correct_b = correct_a if rng.random() < 0.85 else not correct_a
        trunc_a = rng.random() < 0.22
        trunc_b = rng.random() < 0.03
        a_items.append(_item(rng, item_id, expected, correct_a, trunc_a, max_new_tokens))
        if i == error_at:
            b_items.append({"id": item_id, "error": "OverflowError: cannot convert float infinity to integer"})
        else:
            b_items.append(_item(rng, item_id, expected, correct_b, trunc_b, max_new_tokens))

    def meta(items: list[dict[str, Any]]) -> dict[str, Any]:
        elapsed = round(rng.uniform(900, 2400), 3)
        return {"n_total": len(items), "elapsed_s": elapsed,
                "elapsed_h": f"{int(elapsed // 60)}m {int(elapsed % 60)}s", "n_skipped_resumed": 0,
                "max_new_tokens": max_new_tokens}

    return {"results": a_items, "meta": meta(a_items)}, {"results": b_items, "meta": meta(b_items)}
