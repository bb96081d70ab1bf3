"""The dataset card (README.md): YAML front matter the Hub and `datasets` read, then the provenance story.

No dates or machine-specific values, so the same export gives the same card bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.export.pipeline import ExportOptions, ExportResult

CONFIG_TEXT = {
    "sft": "supervised fine-tuning conversations (`messages`, passing branches)",
    "dpo": "preference pairs (`prompt`, `chosen`, `rejected`, conversational)",
    "ppo": "RL prompts with a scalar reward (`prompt`, `reward`) for PPO / GRPO",
    "compliance_sft": "compliance answerer / repairer conversations (`messages`)",
    "compliance_dpo": "compliance repair preference pairs (`prompt`, `chosen`, `rejected`)",
    "router": "router labels from AEP runs admitted as train_router",
}


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def front_matter(license_id: str, data_files: dict[str, list[str]], name: str) -> str:
    lines = ["---", f"license: {license_id}", f"pretty_name: {_yaml_str(name)}", "task_categories:",
             "- text-generation", "tags:", "- trace-engine", "- agent-traces", "- tool-use"]
    lines += [f"- {cfg}" for cfg in data_files]
    lines.append("configs:")
    for cfg, paths in data_files.items():
        lines += [f"- config_name: {cfg}", "  data_files:", "  - split: train", "    path:"]
        lines += [f"    - {_yaml_str(p)}" for p in paths]
    lines.append("---")
    return "\n".join(lines) + "\n"


def render_card(opts: ExportOptions, result: ExportResult, data_files: dict[str, list[str]]) -> str:
    name = opts.dataset_name or opts.out_dir.name or "trace-engine-export"
    c = result.counts
    rows = c.get("rows", {})
    assert isinstance(rows, dict)
    out = [front_matter(opts.license, data_files, name), f"# {name}", "",
           "Training data exported by trace-engine from agent rollouts, with lineage back to the evidence.",
           "", "## Configs", "", "| config | rows | content |", "|---|---:|---|"]
    out += [f"| {cfg} | {rows.get(cfg, 0)} | {CONFIG_TEXT.get(cfg, '')} |" for cfg in data_files]
    out += ["", "Load one with `datasets.load_dataset(\"<this repo or folder>\", \"dpo\")`.", "",
            "## Counts", "",
            f"- input records: {c.get('input_records', 0)}",
            f"- exported (in at least one config): {c.get('exported', 0)}",
            f"- quarantined (not exported, see `quarantine.*`): {c.get('quarantined', 0)}",
            f"- not selected (no config takes them): {c.get('not_selected', 0)}", ""]
    if result.quarantined_by_reason:
        out += ["Quarantine rows by reason:", ""]
        out += [f"- {reason}: {n}" for reason, n in result.quarantined_by_reason.items()]
        out.append("")
    out += ["## Provenance", "",
            "Every row carries `source` and `line` (input file and line), `rollout_id`, `run_id`, `task_hash`",
            "(first 16 hex of SHA-256 of the task) and `evidence_digest`: SHA-256 of the canonical JSON",
            "(sorted keys, compact separators, UTF-8) of the source record. DPO lineage is the chosen branch's.",
            "`manifest.json` lists every file with its SHA-256, the SHA-256 of every input file and the options.",
            "", "## Contamination", ""]
    cont = result.contamination
    if cont.get("eval_items"):
        out += [f"Branches were checked against {cont['eval_items']} eval items (token 8-gram Jaccard ≥ "
                f"{cont.get('threshold')} or containment ≥ {cont.get('containment_threshold')}); "
                f"{cont.get('n_flagged_branches', 0)} flagged branches were excluded and are listed with "
                "their scores in the quarantine.", ""]
    else:
        out += ["No eval items were given: contamination was not checked.", ""]
    out += ["## Redaction", ""]
    red = result.redaction
    if red.get("enabled"):
        out += ["Text fields (task, answers, tool arguments, results, errors) were scrubbed before export: "
                "values of sensitive keys (api_key, authorization, password, token, secret, X-API-Key, "
                "X-Auth-Token, ...) and e-mail addresses, phone numbers, SSNs, IPv4 addresses, Bearer tokens, "
                "AWS key ids, secret assignments, PEM private keys and UUIDs became `[REDACTED]`; "
                f"{red.get('n_values_modified', 0)} values changed, {red.get('n_unredactable', 0)} records "
                "could not be redacted and were quarantined.", ""]
    else:
        out += ["Redaction was disabled for this export (`--no-redact`).", ""]
    out += ["## Admission", ""]
    adm = result.admission
    if adm:
        out += [f"AEP evidence was scored with the Evidence Admission Score; minimum score: "
                f"{adm.get('min_admission')}; runs scored: {adm.get('runs', 0)}.", ""]
    else:
        out += ["No AEP evidence was given: `admission_score` is empty and no admission policy applied.", ""]
    if result.quality.get("issues"):
        out += ["## Quality warnings", ""]
        issues = result.quality["issues"]
        assert isinstance(issues, list)
        out += [f"- {i['check']}: {i['value']} (threshold {i['threshold']})" for i in issues]
        out.append("")
    out += ["## Format notes", "",
            "Messages follow the chat format: `role`, `content`, `tool_calls` (`id`, `type`, `function` with",
            "`name` and `arguments` as a JSON string) and `tool_call_id` on tool results, whose content is",
            "the tool result as JSON text (a string result is kept as is).", ""]
    return "\n".join(out)
