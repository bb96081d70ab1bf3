"""Flag rules (SPEC §6): jaccard (the original), containment, any (default: either)."""

from __future__ import annotations

import numpy as np

from engine.contamination.config import ContaminationConfig, Rule


def jaccard_flags(token_jaccard: np.ndarray, char_jaccard: np.ndarray, cfg: ContaminationConfig) -> np.ndarray:
    """token >= threshold or char >= char_threshold (NaN char = known to be below it)."""
    with np.errstate(invalid="ignore"):
        return (token_jaccard >= cfg.threshold) | (np.nan_to_num(char_jaccard, nan=-1.0) >= cfg.char_threshold)


def containment_flags(containment: np.ndarray, cfg: ContaminationConfig) -> np.ndarray:
    return containment >= cfg.containment_threshold


def flags(jac_flag: np.ndarray, cont_flag: np.ndarray, rule: Rule) -> np.ndarray:
    if rule is Rule.jaccard:
        return jac_flag
    if rule is Rule.containment:
        return cont_flag
    return jac_flag | cont_flag
