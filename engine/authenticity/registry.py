"""Tamper-evident evidence registry (reference §3.16, its weaknesses fixed).

Layout of a registry directory:

    CURRENT                   name of the live generation, e.g. "gen-000042"
    gen-000042/events.jsonl   hash-chained events: {seq, event, ts, entry, prev_event_hash, event_hash}
    gen-000042/registry.json  the index: entries replayed from the events + event_count, head_event_hash
    gen-000042/index.sig      Ed25519 signature over the exact bytes of registry.json (key id inside)

Every write builds a complete new generation and then atomically replaces CURRENT, so no reader
ever sees an event without its index or an index without its event; a crash leaves the previous
generation live. `verify` recomputes every event hash and link, checks the signature and that the
index covers the whole log, replays the log and compares FULL entries with the index, and checks
every artifact's SHA-256. Each problem names the event (seq, line) or entry id it concerns.

Artifact paths are stored relative to the registry directory, so a registry moved together with
its artifacts still verifies. A write first verifies the registry with the writer's own key and
refuses to extend a registry that fails (or that another key signed: no key rotation yet).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.authenticity.canonical import canonical_bytes
from engine.authenticity.ed25519 import Verifiers
from engine.authenticity.keys import KeyRing, decode_b64, load_private_key, public_bytes
from engine.errors import InputError, UsageError, VerificationError

REGISTRY_VERSION = "evidence-registry/v1"
ENTRY_TYPES = ("policy_bundle", "verifier", "benchmark_task", "receipt", "model_profile", "router_profile",
               "dataset_card", "aep_schema")
EVENTS, INDEX, SIG, CURRENT = "events.jsonl", "registry.json", "index.sig", "CURRENT"


@dataclass(frozen=True)
class Problem:
    where: str     # "event 12 (line 12)", "entry 'x'", "index", "index.sig"
    message: str

    def text(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class RegistryReport:
    problems: list[Problem] = field(default_factory=list)
    events: int = 0
    entries: int = 0
    artifacts_checked: int = 0
    signed_by: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "entries": self.entries,
                "artifacts_checked": self.artifacts_checked, "signed_by": self.signed_by,
                "problems": [{"where": p.where, "message": p.message} for p in self.problems]}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes({k: v for k, v in event.items() if k != "event_hash"})).hexdigest()


def current_dir(registry_dir: str | Path) -> Path | None:
    """The live generation directory, or None for a registry that has never been written."""
    d = Path(registry_dir)
    pointer = d / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not name.startswith("gen-") or "/" in name or "\\" in name:
        raise InputError("CURRENT does not name a generation directory", path=str(pointer))
    return d / name


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _locked(registry_dir: Path) -> Iterator[None]:
    import fcntl

    registry_dir.mkdir(parents=True, exist_ok=True)
    with open(registry_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------


def read_events(gen: Path) -> tuple[list[dict[str, Any] | None], list[Problem]]:
    """Events by line (None for a line that is not a JSON object) and parse problems."""
    path = gen / EVENTS
    if not path.is_file():
        return [], [Problem("events.jsonl", "event log missing")]
    events: list[dict[str, Any] | None] = []
    problems: list[Problem] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            problems.append(Problem(f"line {n}", "blank line in the event log (an event was removed or edited)"))
            events.append(None)
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            problems.append(Problem(f"line {n}", "not a JSON object (event edited)"))
        events.append(obj if isinstance(obj, dict) else None)
    return events, problems


def replay(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    state: dict[str, dict[str, Any]] = {}
    for ev in events:
        entry = ev.get("entry") or {}
        if ev.get("event") == "register":
            state[str(entry.get("id"))] = entry
        elif ev.get("event") == "remove":
            state.pop(str(entry.get("id")), None)
    return state


def read_index(gen: Path) -> tuple[bytes | None, dict[str, Any] | None]:
    path = gen / INDEX
    if not path.is_file():
        return None, None
    data = path.read_bytes()
    try:
        obj = json.loads(data)
    except ValueError:
        return data, None
    return data, obj if isinstance(obj, dict) else None


def list_entries(registry_dir: str | Path, entry_type: str | None = None) -> list[dict[str, Any]]:
    gen = current_dir(registry_dir)
    if gen is None:
        raise InputError("not a registry (no CURRENT file)", path=str(registry_dir))
    _, index = read_index(gen)
    if index is None:
        raise InputError("registry index missing or not JSON", path=str(gen / INDEX))
    entries = [e for e in index.get("entries", []) if isinstance(e, dict)]
    if entry_type:
        entries = [e for e in entries if e.get("entry_type") == entry_type]
    return sorted(entries, key=lambda e: str(e.get("id")))


def read_log(registry_dir: str | Path) -> list[dict[str, Any]]:
    gen = current_dir(registry_dir)
    if gen is None:
        raise InputError("not a registry (no CURRENT file)", path=str(registry_dir))
    events, _ = read_events(gen)
    return [e for e in events if e is not None]


# ------------------------------------------------------------------------------------------------
# verification
# ------------------------------------------------------------------------------------------------


def _check_events(events: list[dict[str, Any] | None], report: RegistryReport) -> str | None:
    """Hash, link and sequence checks. Returns the hash of the last event."""
    prev: str | None = None
    for n, ev in enumerate(events, start=1):
        if ev is None:
            prev = None
            continue
        seq = ev.get("seq")
        label = f"event {seq} (line {n})" if isinstance(seq, int) else f"line {n}"
        if seq != n:
            report.problems.append(Problem(label, f"sequence number {seq!r} at line {n}: an event was deleted, "
                                                  "inserted or reordered"))
        if ev.get("event_hash") != event_hash(ev):
            report.problems.append(Problem(label, "content does not match its event_hash (event edited)"))
        if ev.get("prev_event_hash") != prev:
            report.problems.append(Problem(label, "prev_event_hash does not match the preceding event (an event "
                                                  "was edited, deleted, inserted or reordered)"))
        prev = ev.get("event_hash") if isinstance(ev.get("event_hash"), str) else None
    return prev


def _check_signature(gen: Path, index_bytes: bytes, keys: KeyRing | None, report: RegistryReport,
                     allow_unsigned: bool) -> None:
    sig_path = gen / SIG
    if not sig_path.is_file():
        if not allow_unsigned:
            report.problems.append(Problem("index.sig", "signature missing: the index is not signed"))
        return
    try:
        sig_doc = json.loads(sig_path.read_text(encoding="utf-8"))
        key_id, sig = str(sig_doc["key_id"]), decode_b64(str(sig_doc["sig"]))
    except (ValueError, KeyError, TypeError):
        report.problems.append(Problem("index.sig", "unreadable signature file"))
        return
    report.signed_by = key_id
    if keys is None:
        report.problems.append(Problem("index.sig", f"no verifying keys given for key id {key_id!r} (--keys)"))
        return
    pub, why = keys.lookup(key_id)
    if pub is None:
        report.problems.append(Problem("index.sig", why or "unknown key"))
        return
    if not Verifiers("cryptography").verify(pub, sig, index_bytes):
        report.problems.append(Problem("index", f"signature does not verify under key {key_id!r}: registry.json "
                                                "was modified after signing"))


def _diff_fields(a: dict[str, Any], b: dict[str, Any]) -> str:
    return ", ".join(sorted(k for k in set(a) | set(b) if canonical_bytes(a.get(k)) != canonical_bytes(b.get(k))
                            or (k in a) != (k in b)))


def _check_artifacts(registry_dir: Path, entries: list[dict[str, Any]], report: RegistryReport) -> None:
    for e in entries:
        rel = e.get("artifact_path")
        if not rel:
            continue
        path = registry_dir / str(rel)
        label = f"entry {e.get('id')!r}"
        report.artifacts_checked += 1
        want = e.get("digest")
        if not want:
            report.problems.append(Problem(label, "artifact without a digest"))
        elif not path.is_file():
            report.problems.append(Problem(label, f"artifact not found: {rel}"))
        else:
            got = sha256_file(path)
            if got != want:
                report.problems.append(Problem(label, f"artifact digest mismatch: expected {str(want)[:16]}... "
                                                      f"got {got[:16]}... ({rel})"))


def verify_registry(registry_dir: str | Path, keys: KeyRing | None, *, allow_unsigned: bool = False,
                    check_artifacts: bool = True) -> RegistryReport:
    report = RegistryReport()
    gen = current_dir(registry_dir)
    if gen is None:
        raise InputError("not a registry (no CURRENT file)", path=str(registry_dir))
    events, problems = read_events(gen)
    report.problems.extend(problems)
    report.events = len(events)
    head = _check_events(events, report)
    index_bytes, index = read_index(gen)
    if index_bytes is None or index is None:
        report.problems.append(Problem("index", "registry.json missing or not a JSON object"))
        return report
    _check_signature(gen, index_bytes, keys, report, allow_unsigned)
    if index.get("event_count") != len(events) or index.get("head_event_hash") != head:
        report.problems.append(Problem("index", f"index covers {index.get('event_count')!r} events ending at "
                                                f"{str(index.get('head_event_hash'))[:16]}..., the log has "
                                                f"{len(events)} ending at {str(head)[:16]}..."))
    entries = [e for e in index.get("entries", []) if isinstance(e, dict)]
    report.entries = len(entries)
    replayed = replay([e for e in events if e is not None])
    indexed = {str(e.get("id")): e for e in entries}
    for eid in sorted(set(replayed) | set(indexed)):
        if eid not in indexed:
            report.problems.append(Problem(f"entry {eid!r}", "in the event log but missing from the index"))
        elif eid not in replayed:
            report.problems.append(Problem(f"entry {eid!r}", "in the index but not produced by the event log"))
        elif canonical_bytes(indexed[eid]) != canonical_bytes(replayed[eid]):
            report.problems.append(Problem(f"entry {eid!r}", "index differs from the event log replay in: "
                                                             + _diff_fields(indexed[eid], replayed[eid])))
    if check_artifacts:
        _check_artifacts(Path(registry_dir), entries, report)
    return report


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------


def _index_bytes(entries: dict[str, dict[str, Any]], count: int, head: str | None, now: str) -> bytes:
    doc = {"registry_version": REGISTRY_VERSION, "updated_at": now, "event_count": count,
           "head_event_hash": head, "entries": [entries[k] for k in sorted(entries)]}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _commit(registry_dir: Path, old: Path | None, events_bytes: bytes, index_bytes: bytes, sig_doc: bytes) -> Path:
    n = int(old.name.split("-")[1]) + 1 if old is not None else 1
    gen = registry_dir / f"gen-{n:06d}"
    tmp = registry_dir / f".tmp-{gen.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    _fsync_write(tmp / EVENTS, events_bytes)
    _fsync_write(tmp / INDEX, index_bytes)
    _fsync_write(tmp / SIG, sig_doc)
    if gen.exists():
        shutil.rmtree(gen)
    os.replace(tmp, gen)
    pointer_tmp = registry_dir / f".{CURRENT}.tmp-{os.getpid()}"
    _fsync_write(pointer_tmp, (gen.name + "\n").encode("ascii"))
    os.replace(pointer_tmp, registry_dir / CURRENT)  # the commit point
    if old is not None and old.exists() and old != gen:
        shutil.rmtree(old, ignore_errors=True)
    return gen


def _append(registry_dir: Path, kind: str, entry: dict[str, Any], key_path: str | Path, key_id: str,
            now: str) -> dict[str, Any]:
    private = load_private_key(key_path)
    old = current_dir(registry_dir)
    events: list[dict[str, Any]] = []
    old_events = b""
    if old is not None:
        ring = KeyRing.from_mapping({key_id: public_bytes(private)})
        report = verify_registry(registry_dir, ring, check_artifacts=False)
        if not report.ok:
            raise VerificationError(f"registry failed verification, refusing to write: {report.problems[0].text()}",
                                    path=str(registry_dir), hint="run `engine registry verify` for all problems")
        old_events = (old / EVENTS).read_bytes()
        events = [e for e in read_events(old)[0] if e is not None]
    prev = events[-1]["event_hash"] if events else None
    event = {"seq": len(events) + 1, "event": kind, "ts": now, "entry": entry, "prev_event_hash": prev}
    head = event_hash(event)
    event["event_hash"] = head
    events.append(event)
    line = json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    index = _index_bytes(replay(events), len(events), head, now)
    sig = private.sign(index)
    sig_doc = json.dumps({"alg": "ed25519", "key_id": key_id, "signed_file": INDEX,
                          "sig": base64.urlsafe_b64encode(sig).decode("ascii")}, indent=2) + "\n"
    _commit(registry_dir, old, old_events + line, index, sig_doc.encode("ascii"))
    return event


def register(registry_dir: str | Path, *, entry_id: str, entry_type: str, version: str, key_path: str | Path,
             key_id: str, artifact: str | Path | None = None, metadata: dict[str, str] | None = None,
             now: str | None = None) -> dict[str, Any]:
    """Register (or update) an entry; returns the entry. Same id = a new version of that entry."""
    if entry_type not in ENTRY_TYPES:
        raise UsageError(f"unknown entry type {entry_type!r}", hint="one of " + ", ".join(ENTRY_TYPES))
    if not entry_id:
        raise UsageError("entry id must not be empty")
    digest, artifact_path = "", ""
    if artifact is not None:
        p = Path(artifact)
        if not p.is_file():
            raise InputError("artifact is not a file", path=str(p))
        # relative to the registry directory, so a registry moved together with its artifacts still verifies
        artifact_path = os.path.relpath(p.resolve(), Path(registry_dir).resolve())
        digest = sha256_file(p)
    stamp = now or _now()
    entry = {"id": entry_id, "entry_type": entry_type, "version": version, "digest": digest,
             "artifact_path": artifact_path, "metadata": dict(sorted((metadata or {}).items())),
             "registered_at": stamp}
    d = Path(registry_dir)
    with _locked(d):
        _append(d, "register", entry, key_path, key_id, stamp)
    return entry


def remove(registry_dir: str | Path, *, entry_id: str, key_path: str | Path, key_id: str,
           now: str | None = None) -> None:
    d = Path(registry_dir)
    with _locked(d):
        if entry_id not in {e.get("id") for e in list_entries(d)}:
            raise UsageError(f"no entry {entry_id!r} in the registry", path=str(d))
        stamp = now or _now()
        _append(d, "remove", {"id": entry_id}, key_path, key_id, stamp)
