"""Registry: after 100 registrations `engine registry verify` detects every kind of tampering,
with a message naming the entry or event."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.authenticity.keys import KeyRing, generate_keypair
from engine.authenticity.registry import (
    EVENTS,
    INDEX,
    SIG,
    current_dir,
    list_entries,
    read_log,
    register,
    remove,
    verify_registry,
)
from engine.errors import InputError, UsageError, VerificationError

N = 100


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("registry")
    priv, _ = generate_keypair("reg-key", d / "keys")
    arts = d / "artifacts"
    arts.mkdir()
    for i in range(N):
        art = arts / f"a{i:03d}.txt"
        art.write_text(f"artifact {i}\n")
        register(d / "reg", entry_id=f"e{i:03d}", entry_type="verifier", version=f"1.{i}", key_path=priv,
                 key_id="reg-key", artifact=art, metadata={"n": str(i)}, now=f"2026-01-01T00:00:{i % 60:02d}Z")
    return d


@pytest.fixture
def reg(base, tmp_path):
    shutil.copytree(base, tmp_path / "copy")
    return tmp_path / "copy"


def _cli(args: list[str]):
    import cli

    return CliRunner().invoke(cli.app, args)


def _verify(reg: Path):
    return verify_registry(reg / "reg", KeyRing.from_dir(reg / "keys", use_env=False))


def _texts(report) -> str:
    return "\n".join(p.text() for p in report.problems)


def _lines(reg: Path) -> list[str]:
    return (current_dir(reg / "reg") / EVENTS).read_text().splitlines(keepends=True)


def _write_lines(reg: Path, lines: list[str]) -> None:
    (current_dir(reg / "reg") / EVENTS).write_text("".join(lines))


def test_clean_registry_verifies(base):
    report = _verify(base)
    assert report.ok, _texts(report)
    assert report.events == N and report.entries == N and report.artifacts_checked == N
    assert len(list_entries(base / "reg")) == N
    assert [e["seq"] for e in read_log(base / "reg")] == list(range(1, N + 1))


def test_cli_verify_clean_and_json(base):
    res = _cli(["registry", "verify", "--registry-dir", str(base / "reg"), "--keys", str(base / "keys"),
                "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ok"] is True


def test_event_line_edited(reg):
    lines = _lines(reg)
    ev = json.loads(lines[41])
    ev["entry"]["version"] = "9.9"
    lines[41] = json.dumps(ev) + "\n"
    _write_lines(reg, lines)
    text = _texts(_verify(reg))
    assert "event 42 (line 42): content does not match its event_hash" in text
    assert "entry 'e041'" in text  # replay now differs from the index


def test_event_line_edited_with_recomputed_hash(reg):
    from engine.authenticity.registry import event_hash

    lines = _lines(reg)
    ev = json.loads(lines[10])
    ev["entry"]["digest"] = "0" * 64
    ev["event_hash"] = event_hash(ev)
    lines[10] = json.dumps(ev) + "\n"
    _write_lines(reg, lines)
    text = _texts(_verify(reg))
    assert "event 12 (line 12): prev_event_hash does not match" in text
    assert "entry 'e010': index differs from the event log replay in: digest" in text


def test_event_line_deleted(reg):
    lines = _lines(reg)
    del lines[57]
    _write_lines(reg, lines)
    text = _texts(_verify(reg))
    assert "event 59 (line 58): sequence number 59 at line 58" in text
    assert "entry 'e057': in the index but not produced by the event log" in text


def test_last_event_line_deleted(reg):
    lines = _lines(reg)
    _write_lines(reg, lines[:-1])
    text = _texts(_verify(reg))
    assert "index covers 100 events" in text and "the log has 99" in text
    assert "entry 'e099'" in text


def test_event_line_inserted(reg):
    lines = _lines(reg)
    fake = json.loads(lines[20])
    fake["entry"]["id"] = "intruder"
    lines.insert(21, json.dumps(fake) + "\n")
    _write_lines(reg, lines)
    text = _texts(_verify(reg))
    assert "line 22" in text and "sequence number 21 at line 22" in text
    assert "entry 'intruder': in the event log but missing from the index" in text


def test_event_lines_swapped(reg):
    lines = _lines(reg)
    lines[30], lines[31] = lines[31], lines[30]
    _write_lines(reg, lines)
    text = _texts(_verify(reg))
    assert "event 32 (line 31): sequence number 32 at line 31" in text
    assert "event 31 (line 32)" in text


def test_index_edited(reg):
    path = current_dir(reg / "reg") / INDEX
    doc = json.loads(path.read_text())
    doc["entries"][5]["version"] = "6.6.6"
    path.write_text(json.dumps(doc, indent=2))
    text = _texts(_verify(reg))
    assert "index: signature does not verify under key 'reg-key'" in text
    assert "entry 'e005': index differs from the event log replay in: version" in text


def test_index_whitespace_edit_breaks_signature(reg):
    path = current_dir(reg / "reg") / INDEX
    path.write_bytes(path.read_bytes() + b"\n")
    assert "signature does not verify" in _texts(_verify(reg))


def test_signature_removed(reg):
    (current_dir(reg / "reg") / SIG).unlink()
    res = _cli(["registry", "verify", "--registry-dir", str(reg / "reg"), "--keys", str(reg / "keys")])
    assert res.exit_code == 1
    assert "index.sig: signature missing" in res.output


def test_signature_from_another_key(reg, tmp_path):
    generate_keypair("reg-key", tmp_path / "other")
    report = verify_registry(reg / "reg", KeyRing.from_dir(tmp_path / "other", use_env=False))
    assert "signature does not verify" in _texts(report)


def test_artifact_changed(reg):
    (reg / "artifacts" / "a077.txt").write_text("tampered\n")
    res = _cli(["registry", "verify", "--registry-dir", str(reg / "reg"), "--keys", str(reg / "keys")])
    assert res.exit_code == 1
    assert "entry 'e077'" in res.output and "artifact digest mismatch" in res.output


def test_artifact_deleted(reg):
    (reg / "artifacts" / "a003.txt").unlink()
    assert "entry 'e003': artifact not found" in _texts(_verify(reg))


def test_register_refuses_tampered_registry(reg):
    lines = _lines(reg)
    del lines[3]
    _write_lines(reg, lines)
    with pytest.raises(VerificationError, match="refusing to write"):
        register(reg / "reg", entry_id="new", entry_type="verifier", version="1", key_path=reg / "keys/reg-key.key",
                 key_id="reg-key")


def test_update_and_remove_replay_full_entries(reg):
    key = reg / "keys/reg-key.key"
    register(reg / "reg", entry_id="e001", entry_type="verifier", version="2.0", key_path=key, key_id="reg-key")
    remove(reg / "reg", entry_id="e002", key_path=key, key_id="reg-key")
    report = _verify(reg)
    assert report.ok, _texts(report)
    entries = {e["id"]: e for e in list_entries(reg / "reg")}
    assert entries["e001"]["version"] == "2.0" and "e002" not in entries
    assert len(list(sorted((reg / "reg").glob("gen-*")))) == 1  # old generations are cleaned up


def test_bad_inputs_are_engine_errors(tmp_path):
    priv, _ = generate_keypair("k", tmp_path / "keys")
    with pytest.raises(UsageError, match="unknown entry type"):
        register(tmp_path / "r", entry_id="a", entry_type="nope", version="1", key_path=priv, key_id="k")
    with pytest.raises(InputError, match="artifact is not a file"):
        register(tmp_path / "r", entry_id="a", entry_type="verifier", version="1", key_path=priv, key_id="k",
                 artifact=tmp_path)
    with pytest.raises(InputError, match="not a registry"):
        verify_registry(tmp_path / "empty", None)


def test_cli_register_list_log(tmp_path):
    res = _cli(["keygen", "--key-id", "ck", "--out", str(tmp_path / "keys")])
    assert res.exit_code == 0, res.output
    art = tmp_path / "policy.toml"
    art.write_text("x = 1\n")
    res = _cli(["registry", "register", "--registry-dir", str(tmp_path / "r"), "--id", "pol", "--type",
                "policy_bundle", "--version", "1", "--artifact", str(art), "--meta", "owner=me",
                "--key", str(tmp_path / "keys/ck.key")])
    assert res.exit_code == 0, res.output
    res = _cli(["registry", "list", "--registry-dir", str(tmp_path / "r"), "--format", "json"])
    assert json.loads(res.output)[0]["metadata"] == {"owner": "me"}
    res = _cli(["registry", "log", "--registry-dir", str(tmp_path / "r"), "--format", "json"])
    assert json.loads(res.output)[0]["event"] == "register"
    res = _cli(["registry", "register", "--registry-dir", str(tmp_path / "r"), "--id", "x", "--type", "policy_bundle",
                "--version", "1", "--meta", "novalue", "--key", str(tmp_path / "keys/ck.key")])
    assert res.exit_code != 0
