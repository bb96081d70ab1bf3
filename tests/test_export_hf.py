"""Hub layout (`--hf-layout`): `datasets.load_dataset` on the folder, card YAML, shards; `engine push`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from engine.errors import UsageError
from engine.export import hf

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "export"
META = ["source", "line", "rollout_id", "run_id", "task_hash", "admission_score", "evidence_digest"]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # everything here is local: never reach for the network
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture()
def hf_dir(tmp_path: Path) -> Path:
    out = tmp_path / "hf"
    res = runner.invoke(app, ["export", "--rollout", str(FIX / "rollout-branches.jsonl"), "--rollout",
                              str(FIX / "tool-shapes.jsonl"), "--out-dir", str(out), "--hf-layout"])
    assert res.exit_code == 0, res.output
    return out


def _load(path: Path, config: str, tmp: Path):  # type: ignore[no-untyped-def]
    datasets = pytest.importorskip("datasets")
    return datasets.load_dataset(str(path), config, cache_dir=str(tmp / "cache"))


def test_layout_and_card(hf_dir: Path) -> None:
    for cfg in ("sft", "dpo", "ppo"):
        assert (hf_dir / "data" / cfg / "train-00000-of-00001.parquet").is_file()
    card = (hf_dir / "README.md").read_text()
    yaml_text = card.split("---\n")[1]
    import yaml  # datasets depends on pyyaml

    meta = yaml.safe_load(yaml_text)
    assert meta["license"] == "apache-2.0"
    assert "text-generation" in meta["task_categories"]
    assert "trace-engine" in meta["tags"]
    assert [c["config_name"] for c in meta["configs"]] == ["sft", "dpo", "ppo"]
    assert meta["configs"][1]["data_files"][0]["path"] == ["data/dpo/train-*.parquet"]


def test_load_dataset_dpo_columns_and_trl_shape(hf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    ds = _load(hf_dir, "dpo", tmp_path)["train"]
    assert ds.column_names == ["prompt", "chosen", "rejected", *META]
    assert ds.num_rows == 1
    row = ds[0]
    # TRL conversational preference data: prompt = messages, chosen/rejected = continuations only
    assert [m["role"] for m in row["prompt"]] == ["user"]
    for side in ("chosen", "rejected"):
        assert row[side][-1]["role"] == "assistant" and row[side][-1]["content"]
        assert row["prompt"][0] not in row[side]
    sft = _load(hf_dir, "sft", tmp_path)["train"]
    assert sft.column_names == ["messages", *META]
    assert sft.num_rows == 4
    for msgs in sft["messages"]:
        assert msgs[0]["role"] == "user" and msgs[-1]["role"] == "assistant"
    ppo = _load(hf_dir, "ppo", tmp_path)["train"]
    assert ppo.column_names == ["prompt", "reward", *META]
    assert sorted(ppo["reward"]) == [0.0, 1.0, 1.0, 1.0, 1.0]


def test_shards_respect_max_size(tmp_path: Path) -> None:
    out = tmp_path / "hf"
    res = runner.invoke(app, ["export", "--rollout", str(FIX / "tool-shapes.jsonl"), "--out-dir", str(out),
                              "--hf-layout", "--max-shard-size", "1"])
    assert res.exit_code == 0, res.output
    shards = sorted((out / "data" / "sft").iterdir())
    assert [p.name for p in shards] == [f"train-{i:05d}-of-00003.parquet" for i in range(3)]
    ds = _load(out, "sft", tmp_path)["train"]
    assert ds.num_rows == 3 and ds["rollout_id"] == ["rollout-shape-0", "rollout-shape-1", "rollout-shape-2"]


def test_push_dry_run_lists_files_without_network(hf_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    res = runner.invoke(app, ["push", str(hf_dir), "--repo-id", "org/name", "--dry-run", "--format", "json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    paths = [f["path"] for f in report["files"]]
    assert "README.md" in paths and "manifest.json" in paths and "data/dpo/train-00000-of-00001.parquet" in paths
    assert report["total_bytes"] == sum((hf_dir / p).stat().st_size for p in paths)


def test_push_without_token_is_a_clear_error(hf_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    with pytest.raises(UsageError, match="no Hugging Face token"):
        hf.push(hf_dir, "org/name")


class _HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.response = type("R", (), {"status_code": status})()


def test_retries_on_429_and_5xx_only() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _HTTPError(429 if len(calls) == 1 else 503)
        return "ok"

    assert hf.with_retries(flaky, sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and sleeps == [1.0, 2.0]

    def forbidden() -> str:
        raise _HTTPError(403)

    with pytest.raises(_HTTPError):
        hf.with_retries(forbidden, sleep=sleeps.append)


def test_push_single_commit_with_retries(hf_dir: Path) -> None:
    """A local stand-in for the Hub API records what push sends (no network in tests)."""
    sent: dict[str, object] = {}

    class Api:
        def __init__(self) -> None:
            self.fail_once = True

        def create_repo(self, repo_id: str, **kw: object) -> None:
            sent["repo"] = (repo_id, kw)

        def create_commit(self, repo_id: str, operations: list[object], **kw: object) -> object:
            if self.fail_once:
                self.fail_once = False
                raise _HTTPError(502)
            sent["ops"] = [op.path_in_repo for op in operations]  # type: ignore[attr-defined]
            return type("Info", (), {"commit_url": "https://example.invalid/commit/1"})()

    import engine.export.hf as mod

    orig = mod.with_retries
    mod.with_retries = lambda call, **kw: orig(call, sleep=lambda _s: None)  # type: ignore[assignment]
    try:
        done = hf.push(hf_dir, "org/name", token="hf_test", api=Api())
    finally:
        mod.with_retries = orig  # type: ignore[assignment]
    assert done["commit_url"] == "https://example.invalid/commit/1"
    assert "README.md" in sent["ops"] and "data/sft/train-00000-of-00001.parquet" in sent["ops"]  # type: ignore[operator]
    assert sent["repo"][1]["repo_type"] == "dataset"  # type: ignore[index]
