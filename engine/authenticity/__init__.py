"""Authenticity and tamper evidence: DSSE and legacy signatures, hash chains, registry, receipts.

Entry points for other stages: `layers.authenticity_layer`, `layers.chain_layer` (the validate
layers) and `verify.verify_paths` (`engine verify`).
"""
