"""Hugging Face Hub layout and upload.

Layout: `data/{config}/train-{i:05d}-of-{n:05d}.parquet`, shards no larger than --max-shard-size (planned
from the in-memory size, which is larger than the zstd Parquet, so shards come out smaller than the cap),
plus the README.md card whose YAML `configs` the `datasets` library reads.

Upload: one commit with every file (huggingface_hub `create_commit`), retried with exponential backoff on
429 and 5xx answers. The token comes from huggingface_hub's usual sources (HF_TOKEN, the login cache).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from engine.errors import EngineError, InputError, UsageError
from engine.export.writers import WrittenFile, write_frame

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def shard_count(frame: pl.DataFrame, max_shard_bytes: int) -> int:
    return max(1, math.ceil(frame.estimated_size() / max(1, max_shard_bytes)))


def write_shards(frame: pl.DataFrame, out_dir: Path, config: str, *, max_shard_bytes: int) -> list[WrittenFile]:
    n = min(shard_count(frame, max_shard_bytes), max(1, frame.height))
    per = math.ceil(frame.height / n) if frame.height else 0
    files = []
    for i in range(n):
        part = frame.slice(i * per, per) if per else frame
        files.append(write_frame(part, out_dir, f"data/{config}/train-{i:05d}-of-{n:05d}.parquet",
                                 fmt="parquet", config=config))
    return files


@dataclass(frozen=True)
class PlannedFile:
    path: str
    bytes: int


def plan_upload(directory: Path) -> list[PlannedFile]:
    """Files that `push` sends: everything under the export folder except temporaries."""
    if not directory.is_dir():
        raise InputError("not an export folder", path=str(directory))
    if not (directory / "README.md").is_file():
        raise InputError("no README.md dataset card; run `engine export --hf-layout` first", path=str(directory))
    files = [p for p in sorted(directory.rglob("*"))
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)]
    return [PlannedFile(p.relative_to(directory).as_posix(), p.stat().st_size) for p in files]


def _status(exc: BaseException) -> int | None:
    resp = getattr(exc, "response", None)
    code = getattr(resp, "status_code", None)
    return code if isinstance(code, int) else None


def with_retries(call: Callable[[], T], *, attempts: int = 5, base_delay: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `call`, retrying on HTTP 429/5xx with exponential backoff; other errors propagate at once."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:
            status = _status(exc)
            if status not in RETRY_STATUSES or attempt == attempts - 1:
                raise
            sleep(base_delay * (2 ** attempt))
    raise AssertionError("unreachable")


def resolve_token(token: str | None = None) -> str:
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise UsageError("no Hugging Face token found",
                         hint="set HF_TOKEN or run `hf auth login`, or pass --token")
    return found


def push(directory: Path, repo_id: str, *, private: bool = False, revision: str | None = None,
         token: str | None = None, message: str | None = None, api: Any = None) -> dict[str, object]:
    """Upload the export folder to a dataset repo in a single commit; return the commit URL and files."""
    planned = plan_upload(directory)
    tok = resolve_token(token)
    from huggingface_hub import CommitOperationAdd, HfApi

    hub = api or HfApi(token=tok)
    ops = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(directory / f.path)) for f in planned]
    try:
        with_retries(lambda: hub.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True))
        if revision:
            with_retries(lambda: hub.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True))
        info = with_retries(lambda: hub.create_commit(
            repo_id, operations=ops, commit_message=message or "Upload trace-engine export",
            repo_type="dataset", revision=revision))
    except EngineError:
        raise
    except Exception as exc:
        status = _status(exc)
        where = f" (HTTP {status})" if status else ""
        raise EngineError(f"upload to {repo_id} failed{where}: {exc}".splitlines()[0]) from exc
    return {"repo_id": repo_id, "commit_url": str(getattr(info, "commit_url", info)),
            "files": [{"path": f.path, "bytes": f.bytes} for f in planned]}
