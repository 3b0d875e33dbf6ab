# Copyright (c) sak_mm contributors. All rights reserved.
"""The ``fast`` backend of the boundary benchmark: the BSDS match counts,
Dollar's edge NMS and Lam-Lee-Suen thinning in numba, with nothing
compiled at install time.

The BSDS matcher (``correspondPixels``) solves a min-cost perfect
assignment (CSA) on a graph of

* *real* edges between a predicted and a ground-truth pixel within
  ``maxDist`` (cost: their distance),
* a sparse random *outlier* graph: every predicted pixel is joined to 6
  outlier copies of other predicted pixels, every ground-truth pixel to 6
  of other ground-truth pixels, and every outlier copy on the larger side
  to 6 on the smaller side (cost ``100 * maxDist``), chosen by ``kOfN``
  from glibc's ``erand48`` stream, re-seeded before every call,
* a perfect-match *overlay* (100 times the outlier cost).

Because the outlier graph is sparse, its optimum is not the maximum
matching of the real edges: an outlier copy with no outlier-outlier edge
(about ``e^-6`` of the smaller side's) forces a pixel to stay unmatched.
This backend rebuilds the same outlier graph draw for draw
(:func:`k_of_n` on :func:`erand48`), then finds the same number of real
matches without CSA:

1. a maximum-cardinality matching of the real edges (Hopcroft-Karp, warm-
   started from the previous threshold's matching);
2. a maximum completion of it with outlier edges alone;
3. for each node left unmatched, a shortest augmenting path in the whole
   graph with unit costs (real 0, outlier 1, overlay 100; Bellman-Ford with
   a queue, as backward edges cost less than nothing).

Step 2 ends at a cheapest matching of its size (no matching has more real
edges than step 1's), so the augmentations of step 3 end at a cheapest
perfect matching: the most real matches that the outlier graph allows.
CSA also weighs the real edges' lengths; the two agree unless shortening
matched pairs would be worth giving up one of them (a whole outlier cost),
which the tests against the reference backend bound.
"""
import glob
import math
import os
import os.path as osp

import numpy as np

from sak_mm.utils.cache import cache_dir

# numba caches compiled functions beside their source (inside the installed
# package) unless told otherwise: in the user's cache instead (read when
# numba is imported; a NUMBA_CACHE_DIR of the user's own is kept)
if not os.environ.get('NUMBA_CACHE_DIR'):
    os.environ['NUMBA_CACHE_DIR'] = cache_dir('numba')
from numba import njit  # noqa: E402

#: outlier edges per node, and the cost scale, of the BSDS matcher
DEGREE = 6
COST_REAL, COST_OUTLIER, COST_OVERLAY = 0, 1, 100

# --- glibc's erand48 and the matcher's kOfN -------------------------------

_ERAND48_A = 0x5DEECE66D
_ERAND48_C = 0xB
_MASK48 = (1 << 48) - 1


@njit(cache=True)
def erand48(state):
    """Advance the 48-bit linear congruential state (a one-element uint64
    array) and return it as a double in ``[0, 1)``: glibc's ``erand48``,
    which the matcher's ``Random::fp`` calls."""
    state[0] = (state[0] * np.uint64(_ERAND48_A) +
                np.uint64(_ERAND48_C)) & np.uint64(_MASK48)
    return float(state[0]) * 3.552713678800501e-15  # 2 ** -48


@njit(cache=True)
def _uniform_int(state, n):
    """``Random::i32(0, n - 1)``."""
    return int(math.floor(erand48(state) * (float(n - 1) + 1.0)))


@njit(cache=True)
def k_of_n(k, n, out, state, stack):
    """``k`` sorted distinct integers of ``[0, n)`` into ``out[:k]``, drawn
    exactly as the matcher's ``kOfN``: one pass of ``n`` draws when
    ``k log2 k >= n // 2``, else a recursive halving (here an explicit
    stack of ``(k, n, first slot, offset)`` frames, ``(64, 4)`` int64, left
    halves first)."""
    if k == 0:
        return
    if k * math.log(k) / math.log(2.0) >= n // 2:
        j = 0
        for i in range(n):
            prob = (k - j) / (n - i)
            if erand48(state) < prob:
                out[j] = i
                j += 1
        return
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = k, n, 0, 0
    top = 1
    while top > 0:
        top -= 1
        kk, nn, slot, base = stack[top, 0], stack[top, 1], stack[top, 2], \
            stack[top, 3]
        if kk == 1:
            out[slot] = base + _uniform_int(state, nn)
            continue
        left_n = nn // 2
        left_k = 0
        right_k = 0
        for i in range(kk):
            if _uniform_int(state, nn - i) < left_n - left_k:
                left_k += 1
            else:
                right_k += 1
        if right_k > 0:
            stack[top, 0], stack[top, 1] = right_k, nn - left_n
            stack[top, 2], stack[top, 3] = slot + left_k, base + left_n
            top += 1
        if left_k > 0:
            stack[top, 0], stack[top, 1] = left_k, left_n
            stack[top, 2], stack[top, 3] = slot, base
            top += 1


# --- the matching graph ---------------------------------------------------


@njit(cache=True)
def _outlier_graph(n1, n2, seed):
    """The matcher's outlier edges as ``(left, right)`` node arrays, in its
    draw order: predicted pixels to outlier copies of other predicted
    pixels, outlier copies of other ground-truth pixels to ground-truth
    pixels, outlier copies to outlier copies. Left nodes are the ``n1``
    predicted pixels then ``n2`` outlier copies; right nodes the ``n2``
    ground-truth pixels then ``n1`` outlier copies."""
    state = np.empty(1, np.uint64)
    state[0] = np.uint64(seed) & np.uint64(_MASK48)
    d1 = max(0, min(DEGREE, n1 - 1))
    d2 = max(0, min(DEGREE, n2 - 1))
    d3 = min(DEGREE, min(n1, n2))
    nmin, nmax = min(n1, n2), max(n1, n2)
    total = d1 * n1 + d2 * n2 + d3 * nmax
    left = np.empty(total, np.int64)
    right = np.empty(total, np.int64)
    picks = np.empty(DEGREE, np.int64)
    stack = np.empty((64, 4), np.int64)
    c = 0
    for i in range(n1):
        k_of_n(d1, n1 - 1, picks, state, stack)
        for a in range(d1):
            j = picks[a] + (1 if picks[a] >= i else 0)
            left[c], right[c] = i, n2 + j
            c += 1
    for j in range(n2):
        k_of_n(d2, n2 - 1, picks, state, stack)
        for a in range(d2):
            i = picks[a] + (1 if picks[a] >= j else 0)
            left[c], right[c] = n1 + i, j
            c += 1
    for i in range(nmax):
        k_of_n(d3, nmin, picks, state, stack)
        for a in range(d3):
            j = picks[a]
            if n1 < n2:
                left[c], right[c] = n1 + i, n2 + j
            else:
                left[c], right[c] = n1 + j, n2 + i
            c += 1
    return left, right


@njit(cache=True)
def _csr(num_left, left, right, cost):
    """Adjacency of the left nodes (``indptr, indices, cost``), edges in
    their given order."""
    indptr = np.zeros(num_left + 1, np.int64)
    for e in range(len(left)):
        indptr[left[e] + 1] += 1
    for u in range(num_left):
        indptr[u + 1] += indptr[u]
    fill = indptr[:-1].copy()
    indices = np.empty(len(left), np.int64)
    costs = np.empty(len(left), np.int64)
    for e in range(len(left)):
        u = left[e]
        indices[fill[u]] = right[e]
        costs[fill[u]] = cost[e]
        fill[u] += 1
    return indptr, indices, costs


@njit(cache=True)
def _max_matching(indptr, indices, mate_l, mate_r):
    """Hopcroft-Karp: extend the matching ``mate_l`` / ``mate_r`` (-1 for
    unmatched) to a maximum-cardinality one, in place."""
    num_left = len(indptr) - 1
    unreached = 1 << 60
    dist = np.empty(num_left, np.int64)
    queue = np.empty(num_left, np.int64)
    cursor = np.empty(num_left, np.int64)
    stack = np.empty(num_left + 1, np.int64)
    while True:
        head, tail = 0, 0
        for u in range(num_left):
            if mate_l[u] < 0 and indptr[u] < indptr[u + 1]:
                dist[u] = 0
                queue[tail] = u
                tail += 1
            else:
                dist[u] = unreached
        found = False
        while head < tail:
            u = queue[head]
            head += 1
            for e in range(indptr[u], indptr[u + 1]):
                w = mate_r[indices[e]]
                if w < 0:
                    found = True
                elif dist[w] == unreached:
                    dist[w] = dist[u] + 1
                    queue[tail] = w
                    tail += 1
        if not found:
            return
        for u in range(num_left):
            cursor[u] = indptr[u]
        for s in range(num_left):
            if mate_l[s] >= 0 or dist[s] != 0:
                continue
            top = 0
            stack[0] = s
            while top >= 0:
                u = stack[top]
                if cursor[u] == indptr[u + 1]:  # dead end
                    dist[u] = unreached
                    top -= 1
                    if top >= 0:
                        cursor[stack[top]] += 1
                    continue
                v = indices[cursor[u]]
                w = mate_r[v]
                if w < 0:  # augment along the stack
                    for level in range(top, -1, -1):
                        x = stack[level]
                        y = indices[cursor[x]]
                        mate_l[x] = y
                        mate_r[y] = x
                        dist[x] = unreached
                    break
                if dist[w] == dist[u] + 1:
                    top += 1
                    stack[top] = w
                else:
                    cursor[u] += 1


@njit(cache=True)
def _cheapest_augmentations(indptr, indices, costs, mate_l, mate_r,
                            mate_cost):
    """Augment the matching to a perfect one along shortest paths from the
    free left nodes (edge costs ``costs``; walking a matched edge back
    refunds its cost, ``mate_cost`` of its left node), in place."""
    num_left = len(indptr) - 1
    huge = 1 << 60
    dist = np.empty(num_left, np.int64)
    via = np.empty(num_left, np.int64)  # edge that reached a left node
    via_left = np.empty(num_left, np.int64)  # ... and where it came from
    queued = np.zeros(num_left, np.bool_)
    queue = np.empty(num_left, np.int64)
    while True:
        head, size = 0, 0
        for u in range(num_left):
            if mate_l[u] < 0:
                dist[u] = 0
                queue[size] = u
                size += 1
                queued[u] = True
            else:
                dist[u] = huge
        if size == 0:
            return
        best, best_edge, best_left = huge, -1, -1
        while size > 0:
            u = queue[head]
            head = (head + 1) % num_left
            size -= 1
            queued[u] = False
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                w = mate_r[v]
                if w == u:
                    continue
                d = dist[u] + costs[e]
                if w < 0:
                    if d < best:
                        best, best_edge, best_left = d, e, u
                elif d - mate_cost[w] < dist[w]:
                    dist[w] = d - mate_cost[w]
                    via[w] = e
                    via_left[w] = u
                    if not queued[w]:
                        queue[(head + size) % num_left] = w
                        size += 1
                        queued[w] = True
        if best_edge < 0:
            return  # no augmenting path (cannot happen with the overlay)
        u, e = best_left, best_edge
        while True:
            v = indices[e]
            old = mate_l[u]
            mate_l[u] = v
            mate_r[v] = u
            mate_cost[u] = costs[e]
            if old < 0:
                break
            e = via[u]
            u = via_left[u]


@njit(cache=True)
def match_count(active, cand_gt_ptr, cand_gt, num_gt, seed, warm):
    """The number of predicted pixels the BSDS matcher pairs with ground
    truth at one threshold.

    Args:
        active: ``(C,)`` bool, which candidate pixels (all the pixels any
            threshold can keep, in column-major order) this threshold's
            thinned map keeps.
        cand_gt_ptr, cand_gt: For each candidate, the ground-truth pixels
            (indices into the column-major list of ``num_gt``) within
            ``maxDist``.
        num_gt: Ground-truth pixels.
        seed: The matcher's seed, re-applied at each call.
        warm: ``(C,)`` int, a previous matching (candidate -> ground-truth
            pixel or -1) to start from; updated in place.
    """
    num_cand = len(active)
    # nodes: the matchable pixels of each map, in column-major order
    node1 = np.full(num_cand, -1, np.int64)
    gt_matchable = np.zeros(num_gt, np.bool_)
    n1 = 0
    for c in range(num_cand):
        if active[c] and cand_gt_ptr[c] < cand_gt_ptr[c + 1]:
            node1[c] = n1
            n1 += 1
            for e in range(cand_gt_ptr[c], cand_gt_ptr[c + 1]):
                gt_matchable[cand_gt[e]] = True
    if n1 == 0:
        return 0
    node2 = np.full(num_gt, -1, np.int64)
    n2 = 0
    for g in range(num_gt):
        if gt_matchable[g]:
            node2[g] = n2
            n2 += 1
    pix1 = np.empty(n1, np.int64)
    num_real = 0
    for c in range(num_cand):
        if node1[c] >= 0:
            pix1[node1[c]] = c
            num_real += cand_gt_ptr[c + 1] - cand_gt_ptr[c]
    n = n1 + n2
    out_left, out_right = _outlier_graph(n1, n2, seed)
    m = num_real + len(out_left) + n
    left = np.empty(m, np.int64)
    right = np.empty(m, np.int64)
    cost = np.empty(m, np.int64)
    c = 0
    for i in range(n1):
        p = pix1[i]
        for e in range(cand_gt_ptr[p], cand_gt_ptr[p + 1]):
            left[c], right[c], cost[c] = i, node2[cand_gt[e]], COST_REAL
            c += 1
    for e in range(len(out_left)):
        left[c], right[c], cost[c] = out_left[e], out_right[e], COST_OUTLIER
        c += 1
    for i in range(n1):
        left[c], right[c], cost[c] = i, n2 + i, COST_OVERLAY
        c += 1
    for j in range(n2):
        left[c], right[c], cost[c] = n1 + j, j, COST_OVERLAY
        c += 1
    mate_l = np.full(n, -1, np.int64)
    mate_r = np.full(n, -1, np.int64)
    # 1. maximum matching of the real edges, from the previous threshold's
    real_ptr, real_idx, _ = _csr(n1, left[:num_real], right[:num_real],
                                 cost[:num_real])
    for i in range(n1):
        g = warm[pix1[i]]
        if g >= 0 and node2[g] >= 0 and mate_r[node2[g]] < 0:
            mate_l[i] = node2[g]
            mate_r[node2[g]] = i
    _max_matching(real_ptr, real_idx, mate_l[:n1], mate_r[:n2])
    for c in range(num_cand):
        warm[c] = -1
    pix2 = np.empty(n2, np.int64)
    for g in range(num_gt):
        if node2[g] >= 0:
            pix2[node2[g]] = g
    for i in range(n1):
        if mate_l[i] >= 0:
            warm[pix1[i]] = pix2[mate_l[i]]
    # 2. its maximum completion with outlier edges between unmatched nodes
    keep = np.zeros(len(out_left), np.bool_)
    for e in range(len(out_left)):
        u, v = out_left[e], out_right[e]
        keep[e] = (u >= n1 or mate_l[u] < 0) and (v >= n2 or mate_r[v] < 0)
    sub_ptr, sub_idx, _ = _csr(n, out_left[keep], out_right[keep],
                               np.zeros(keep.sum(), np.int64))
    sub_l = np.full(n, -1, np.int64)
    sub_r = np.full(n, -1, np.int64)
    _max_matching(sub_ptr, sub_idx, sub_l, sub_r)
    mate_cost = np.zeros(n, np.int64)
    for u in range(n):
        if sub_l[u] >= 0:
            mate_l[u] = sub_l[u]
            mate_r[sub_l[u]] = u
            mate_cost[u] = COST_OUTLIER
    # 3. cheapest augmentations to a perfect matching of the whole graph
    full_ptr, full_idx, full_cost = _csr(n, left, right, cost)
    _cheapest_augmentations(full_ptr, full_idx, full_cost, mate_l, mate_r,
                            mate_cost)
    matched = 0
    for i in range(n1):
        if 0 <= mate_l[i] < n2:
            matched += 1
    return matched


# --- thinning and NMS -----------------------------------------------------


def _thin_tables():
    """Deletion tables of the two sub-iterations of Lam, Lee and Suen's
    thinning (conditions G1, G2 and G3 / G3'), indexed by the 8-neighbour
    code with bit k for neighbour x_{k+1}: east, north-east, north, ...,
    south-east (counter-clockwise)."""
    first = np.zeros(256, np.bool_)
    second = np.zeros(256, np.bool_)
    for code in range(256):
        x = [(code >> k) & 1 for k in range(8)] + [code & 1]  # x9 = x1
        crossings = sum(1 for i in (0, 2, 4, 6)
                        if not x[i] and (x[i + 1] or x[i + 2]))
        n1 = sum(1 for k in (1, 3, 5, 7) if x[k - 1] or x[k])
        n2 = sum(1 for k in (1, 3, 5, 7) if x[k] or x[k + 1])
        g12 = crossings == 1 and 2 <= min(n1, n2) <= 3
        first[code] = g12 and not ((x[1] or x[2] or not x[7]) and x[0])
        second[code] = g12 and not ((x[5] or x[6] or not x[3]) and x[4])
    return first, second


THIN_FIRST, THIN_SECOND = _thin_tables()
#: (dy, dx, bit) of the 8 neighbours in the tables' code
_NEIGHBOURS = np.array([(0, 1, 1), (-1, 1, 2), (-1, 0, 4), (-1, -1, 8),
                        (0, -1, 16), (1, -1, 32), (1, 0, 64), (1, 1, 128)],
                       np.int64)


@njit(cache=True)
def _thin(img, first, second, neighbours):
    h, w = img.shape
    out = img.copy()
    ys, xs = np.nonzero(out)
    count = len(ys)
    delete = np.empty(count, np.bool_)
    previous = -1
    while previous != count:
        previous = count
        for table in (first, second):
            for p in range(count):
                y, x = ys[p], xs[p]
                code = 0
                for k in range(8):
                    yy, xx = y + neighbours[k, 0], x + neighbours[k, 1]
                    if 0 <= yy < h and 0 <= xx < w and out[yy, xx]:
                        code += neighbours[k, 2]
                delete[p] = table[code]
            kept = 0
            for p in range(count):
                if delete[p]:
                    out[ys[p], xs[p]] = False
                else:
                    ys[kept], xs[kept] = ys[p], xs[p]
                    kept += 1
            count = kept
    return out


def thin(bmap: np.ndarray) -> np.ndarray:
    """Lam-Lee-Suen thinning until nothing changes (MATLAB ``bwmorph``
    'thin', equal to scikit-image's ``thin``)."""
    return _thin(np.ascontiguousarray(bmap, np.bool_), THIN_FIRST,
                 THIN_SECOND, _NEIGHBOURS)


@njit(cache=True)
def _interp(img, h, w, x, y):
    """Bilinear ``img`` at ``(x, y)``, clamped inside the image (a NaN
    coordinate, from a NaN orientation, reads the first row or column,
    where the C code's cast is undefined)."""
    x = 0.0 if not x >= 0 else (w - 1.001 if x > w - 1.001 else x)
    y = 0.0 if not y >= 0 else (h - 1.001 if y > h - 1.001 else y)
    x0, y0 = int(x), int(y)
    dx0, dy0 = x - x0, y - y0
    dx1, dy1 = 1 - dx0, 1 - dy0
    return (img[y0, x0] * dx1 * dy1 + img[y0, x0 + 1] * dx0 * dy1 +
            img[y0 + 1, x0] * dx1 * dy0 + img[y0 + 1, x0 + 1] * dx0 * dy0)


@njit(cache=True)
def suppress(edge, ori, r, s, m):
    """Dollar's edge NMS: zero a pixel where the edge interpolated at
    ``1 ... r`` pixels across its orientation is stronger than ``m`` times
    its own, then fade the ``s`` pixels next to the image border."""
    h, w = edge.shape
    out = edge.copy()
    for x in range(w):
        for y in range(h):
            e = edge[y, x]
            if e == 0:
                continue
            e *= m
            cos_o, sin_o = math.cos(ori[y, x]), math.sin(ori[y, x])
            for d in range(-r, r + 1):
                if d != 0 and e < _interp(edge, h, w, x + d * cos_o,
                                          y + d * sin_o):
                    out[y, x] = 0
                    break
    s = min(s, w // 2, h // 2)
    for x in range(s):
        for y in range(h):
            out[y, x] *= x / s
            out[y, w - 1 - x] *= x / s
    for x in range(w):
        for y in range(s):
            out[y, x] *= y / s
            out[h - 1 - y, x] *= y / s
    return out


@njit(cache=True)
def candidate_neighbours(ys, xs, gt_index, max_dist):
    """For each candidate pixel ``(ys[c], xs[c])``, the ground-truth pixels
    within ``max_dist`` pixels (``gt_index``: their index, -1 elsewhere)
    as ``(indptr, indices)``: the matcher's real edges, whatever
    threshold keeps the candidate."""
    h, w = gt_index.shape
    r = int(math.ceil(max_dist))
    limit = max_dist * max_dist
    offsets = []
    for v in range(-r, r + 1):
        for u in range(-r, r + 1):
            if float(u * u + v * v) <= limit:
                offsets.append((v, u))
    indptr = np.zeros(len(ys) + 1, np.int64)
    found = []
    for c in range(len(ys)):
        for v, u in offsets:
            y, x = ys[c] + v, xs[c] + u
            if 0 <= y < h and 0 <= x < w and gt_index[y, x] >= 0:
                found.append(gt_index[y, x])
        indptr[c + 1] = len(found)
    return indptr, np.array(found, np.int64)


def needs_compiling() -> bool:
    """Whether the next matching compiles the matcher: neither this process
    nor numba's cache has it yet (the first use on a machine, about 11 s
    here)."""
    if match_count.signatures:
        return False
    pattern = osp.join(os.environ['NUMBA_CACHE_DIR'], '**',
                       'boundary_fast.match_count-*.nbi')
    return not glob.glob(pattern, recursive=True)
