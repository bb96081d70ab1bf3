"""runs.extras: the json_keys prefilter of sql/store/extras.sql gives exactly what the merge patch
over every record gives (tests/reference/store.py), on random and adversarial record texts."""

from __future__ import annotations

import json
import random

import polars as pl

from engine.contract.schemas import json_schema
from engine.normalize.extras import top_level_extras
from tests.reference.store import full_extras

DECLARED = sorted(json_schema("aep")["properties"])
ADVERSARIAL = [
    '{"schema_version": "aep/v0.1", "run_id": "r"}',
    '{"run_id": "a", "run_id": "b"}',  # repeated declared key: the patch removes both
    '{"task": 1, "task": 2}',  # repeated undeclared key
    '{"run_id": "r", "created_at_ms": NaN}',
    '{"run_id": "r", "x": NaN}',
    '{"run_id": "r"} trailing',
    '{"run_id": "r", "x": "\\ud800"}',  # lone surrogate escape
    '{"run_id": "r", "big": 123456789012345678901234567890, "f": 1.50, "e": 1e400}',
    '{"run_id": "r", "nested": {"run_id": "inner", "actions": []}, "actions": []}',
    '{"zeta": null}',
    '{}',
    '[1, 2]',
    '"text"',
    '{"run_id": "r", "ünï": "ç\\u00e9\\n", "emoji": "\\ud83d\\ude00"}',
    '{"Run_ID": "case differs", "run_id ": "space"}',
    '{"a\\"b": 1}',
    'not json',
    '',
]


def _random_record(rng: random.Random) -> str:
    keys = rng.sample(DECLARED, rng.randrange(0, 8))
    if rng.random() < 0.4:
        keys += rng.sample(["task", "extensions", "gen_ai_usage", "_dpo_pair_id", "zeta", "actions"], rng.randrange(1, 3))
    if rng.random() < 0.1:
        keys += keys[:1]  # a repeated key
    values = [None, 1, -2.5, "s", [1, "x", None], {"k": {"run_id": 1}}, True, 10**25]
    body = ", ".join(f"{json.dumps(k)}: {json.dumps(rng.choice(values))}" for k in keys)
    return "{" + body + "}"


def test_prefiltered_extras_equal_the_full_merge_patch() -> None:
    rng = random.Random(11)
    texts = ADVERSARIAL + [_random_record(rng) for _ in range(3000)]
    raw = pl.Series("raw", texts)
    assert top_level_extras(raw).to_list() == full_extras(raw, DECLARED)
