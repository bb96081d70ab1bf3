"""Agent-training data products built on rollouts and AEP evidence.

One module per product: `router` (router features, labels, rule classifier, evaluation), `rl` (RL
transitions), `adp` (Agent Data Protocol episodes), `context` (long-context QA and router-critic
records), `replay` (the replay engine), `stream` (per-record verdicts for a live stream) and `linter`
(exploit-surface lint of a benchmark task directory). `calls` resolves rollouts of either tool-call
shape into one branch frame and one ordered call frame, shared by rl / adp / context.
"""
