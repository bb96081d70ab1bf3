-- Purpose: the RL action hash of each tool call: first 16 hex characters of SHA-256 of the JSON text
--   {"args": <arguments as recorded>, "tool": <tool name>} (keys sorted at the top level).
-- Inputs: table `calls(rid BIGINT, k BIGINT, name VARCHAR, arguments VARCHAR)`; `arguments` is JSON text.
-- Output columns: rid, k, args_hash.
select
    rid,
    k,
    left(sha256('{"args": ' || arguments || ', "tool": ' || to_json(name)::VARCHAR || '}'), 16) as args_hash
from calls
