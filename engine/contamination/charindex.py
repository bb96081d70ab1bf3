"""Eval-side index of the char n-gram path (n = 5..10).

Two structures:

* `ExactLevel`, per n: the distinct n-gram sets of the eval items as a sparse incidence matrix
  (vocabulary id x eval row) with the set sizes |B_n|. Exact intersection counts of a few
  training texts with *every* eval item are one sparse product (`charexact`).
* Level-5 *anchors*, the count filter that decides which training texts need that exact work.

The anchor argument (one probe level serves all six levels). Let B_n be the n-gram set of eval
item B and t the char threshold. J(A_n, B_n) >= t implies |A_n ∩ B_n| >= ceil(t |B_n|), so at
most m_n(B) = |B_n| - ceil(t |B_n|) n-grams of B are missing from A. Take a 5-gram x of B that
occurs in B at a position where a full n-gram starts (every position p <= |B| - n). If x is not
in A_5, the n-gram of B starting with x at that position is not in A_n (every occurrence of an
n-gram in A starts with its first five characters), and distinct such x give distinct missing
n-grams. So for any set S(B) of such 5-grams, |S(B) ∩ A_5| >= |S(B)| - m_n(B) =: req_n(B) at
every level n where J_n >= t. We take the |S| = max_n m_n(B) + K(B) rarest valid 5-grams of B
(by count in a sample of training texts, then eval document frequency, then hash: any order is
exact, this one makes the filter selective) with K(B) = max(1, ceil(ANCHOR_EXTRA |B_5|)), and a
training text is a candidate for B only if it contains >= req_n(B) of them at some level n whose
length window (t |A_n| <= |B_n| <= |A_n| / t) holds. Pairs with req_n(B) <= 0 (tiny or highly
repetitive eval items, which cannot give |S| that large) are *loose*: every training text in
their length window is a candidate.

Bands. Training rows are grouped by a lower bound LB_5 of |A_5| (geometric bands); the anchors of
band [lo, hi) come only from eval items that can fall in the length window of such a row at some
level: max_n (|B_n| + t (n - 5)) >= t lo (as |A_n| >= |A_5| - (n - 5)) and min_n |B_n| <= cap / t,
where cap = WIDE * hi bounds |A_5| <= len - 4 of the band's rows (rows beyond it are *wide* and
take the exact path). Bands are built on first use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp

from engine.contamination.config import CHAR_NS
from engine.contamination.hashing import ngram_hashes, ngram_positions
from engine.contamination.join import dedupe, prefix_length, set_sizes, sorted_unique

ANCHOR_EXTRA = 0.05
BAND_RATIO = 1.15
SMALL_BANDS = 32  # LB_5 = 1..32 each get their own band, then geometric
WIDE = 1.5
EPS = 1e-9
GROUP = 32  # band members per coarse hit counter (charfilter)
NO_LEVEL = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class ExactLevel:
    vocab: np.ndarray  # sorted distinct eval n-gram hashes
    matrix: sp.csr_matrix  # (len(vocab), n_eval) incidence
    sizes: np.ndarray  # |B_n| per eval row


@dataclass(frozen=True)
class Band:
    lo: int
    cap: float  # rows of the band with len - 4 > cap are wide
    members: np.ndarray  # band-local index -> eval row
    req_min: np.ndarray  # per member: fewest anchor hits that can pass at some level
    group_req: np.ndarray  # min of req_min over each group of GROUP consecutive members
    shift: np.uint64  # slot of a hash = its top bits
    occupied: np.ndarray  # bool per slot: some anchor hash falls in it
    start: np.ndarray  # postings of slot s are post_g/post_bl[start[s]:start[s + 1]]
    post_g: np.ndarray  # anchor hashes, by slot
    post_bl: np.ndarray  # band-local member index of each posting


@dataclass
class CharIndex:
    t: float
    n_eval: int
    levels: dict[int, ExactLevel]
    sizes: np.ndarray  # (n_eval, len(CHAR_NS)) |B_n|
    req: np.ndarray  # (n_eval, len(CHAR_NS)) anchor hits needed; NO_LEVEL where |B_n| = 0
    sorted_sizes: dict[int, np.ndarray]  # nonzero |B_n|, sorted (row length windows)
    loose_sizes: dict[int, np.ndarray]  # |B_n| of loose (B, n), sorted
    key_hi: np.ndarray  # max_n (|B_n| + t (n - 5))
    key_lo: np.ndarray  # min_n |B_n| over nonzero levels
    anchors: pl.DataFrame  # (r, g, k): the anchors of every eval row, k = rank in its order
    edges: np.ndarray  # band lower edges on LB_5
    _bands: dict[int, Band] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def band(self, i: int) -> Band:
        with self._lock:
            if i not in self._bands:
                self._bands[i] = self._build_band(i)
            return self._bands[i]

    def band_cap(self, i: int) -> float:
        return WIDE * float(self.edges[i + 1]) if i + 1 < self.edges.size else np.inf

    def _build_band(self, i: int) -> Band:
        lo = int(self.edges[i])
        cap = self.band_cap(i)
        ok = (self.key_hi >= self.t * lo - EPS) & (self.key_lo <= cap / self.t + EPS)
        ok &= (self.req < NO_LEVEL).any(axis=1)
        members = np.flatnonzero(ok)
        members = members[np.argsort(self.key_hi[members], kind="stable")]  # groups of similar size
        local = np.full(self.n_eval, -1, dtype=np.int32)
        local[members] = np.arange(members.size, dtype=np.int32)
        r = self.anchors["r"].to_numpy()
        keep = ok[r]
        g = self.anchors["g"].to_numpy()[keep]
        bl = local[r[keep]]
        req = np.where(self.req[members] > 0, self.req[members], NO_LEVEL).min(axis=1) if members.size else np.zeros(0, np.int64)
        bits = int(np.clip(np.ceil(np.log2(max(sorted_unique(g).size, 1) * 8)), 10, 22))
        shift = np.uint64(64 - bits)
        slot = (g >> shift).astype(np.int64)
        by_slot = np.argsort(slot, kind="stable")
        start = np.searchsorted(slot[by_slot], np.arange((1 << bits) + 1)).astype(np.int64)
        pad = np.full(-req.size % GROUP, NO_LEVEL, dtype=np.int64)
        group_req = np.concatenate((req, pad)).reshape(-1, GROUP).min(axis=1) if req.size else req
        return Band(lo, cap, members, req, group_req, shift, start[1:] > start[:-1], start, g[by_slot], bl[by_slot])


def _exact_level(sets: pl.DataFrame, n_eval: int) -> ExactLevel:
    g = sets["g"].to_numpy()
    ids = (sets["g"].rank("dense") - 1).to_numpy()
    vocab = np.empty(int(ids.max()) + 1 if ids.size else 0, dtype=np.uint64)
    vocab[ids] = g
    matrix = sp.csr_matrix((np.ones(g.size, dtype=np.int32), (ids, sets["r"].to_numpy())),
                           shape=(vocab.size, n_eval))
    return ExactLevel(vocab, matrix, set_sizes(sets, n_eval))


def _edges(max_size: float) -> np.ndarray:
    edges = list(range(1, SMALL_BANDS + 1))
    while edges[-1] <= max_size:
        edges.append(max(edges[-1] + 1, int(edges[-1] * BAND_RATIO)))
    return np.array(edges, dtype=np.int64)


def _valid_anchor_grams(cprefix: np.ndarray, lengths: np.ndarray, order: np.ndarray) -> pl.DataFrame:
    """Distinct 5-grams of each eval row at positions p <= len - min(len, 10) (input row ids)."""
    rows, starts = ngram_positions(lengths, 5)
    hashes = ngram_hashes(cprefix, lengths, 5)[1]
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])) if lengths.size else np.zeros(0, np.int64)
    top = np.minimum(lengths, max(CHAR_NS))
    keep = starts - offsets[rows] <= lengths[rows] - top[rows]
    return dedupe(order[rows[keep]], hashes[keep])


def build_char_index(cprefix: np.ndarray, lengths: np.ndarray, order: np.ndarray, n_eval: int,
                     level_sets: dict[int, pl.DataFrame], t: float,
                     background: pl.DataFrame | None) -> CharIndex:
    """`level_sets[n]`: distinct (r, g) per eval input row; `background`: (g, bg) 5-gram counts in
    a sample of training texts (None: no sample)."""
    levels = {n: _exact_level(level_sets[n], n_eval) for n in CHAR_NS}
    sizes = np.stack([levels[n].sizes for n in CHAR_NS], axis=1)
    tt = min(t, 1.0)
    missing = np.where(sizes > 0, prefix_length(sizes, np.full(sizes.shape, tt)) - 1, -1)
    valid = _valid_anchor_grams(cprefix, lengths, order)
    n_valid = set_sizes(valid, n_eval)
    extra = np.maximum(1, np.ceil(ANCHOR_EXTRA * sizes[:, 0] - EPS)).astype(np.int64)
    s_size = np.minimum(n_valid, missing.max(axis=1) + extra)
    req = np.where(sizes > 0, s_size[:, None] - missing, NO_LEVEL)

    doc_freq = level_sets[5].group_by("g").agg(pl.len().cast(pl.Int64).alias("df"))
    ordered = valid.join(doc_freq, on="g", how="left")
    if background is not None:
        ordered = ordered.join(background, on="g", how="left").with_columns(pl.col("bg").fill_null(0))
    else:
        ordered = ordered.with_columns(pl.lit(0, dtype=pl.Int64).alias("bg"))
    ordered = ordered.sort("r", "bg", "df", "g")
    r = ordered["r"].to_numpy()
    k = np.arange(r.size) - np.searchsorted(r, r, side="left")
    anchors = ordered.select("r", "g").with_columns(pl.Series("k", k)).filter(pl.Series(k < s_size[r]))

    nz = np.where(sizes > 0, sizes, 0)
    bonus = tt * (np.array(CHAR_NS) - 5)
    key_hi = np.where(sizes > 0, nz + bonus, -np.inf).max(axis=1)
    key_lo = np.where(sizes > 0, nz, np.inf).min(axis=1)
    loose = (sizes > 0) & (req <= 0)
    finite = key_hi[np.isfinite(key_hi)]
    return CharIndex(
        t=tt, n_eval=n_eval, levels=levels, sizes=sizes, req=req,
        sorted_sizes={n: np.sort(sizes[:, j][sizes[:, j] > 0]) for j, n in enumerate(CHAR_NS)},
        loose_sizes={n: np.sort(sizes[:, j][loose[:, j]]) for j, n in enumerate(CHAR_NS)},
        key_hi=key_hi, key_lo=key_lo, anchors=anchors,
        edges=_edges(float(finite.max()) / tt + 1 if finite.size else 1.0),
    )
