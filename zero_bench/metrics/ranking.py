"""Exact top-k rankings of a similarity matrix in both directions, computed in chunks.

Tie rule (used everywhere in zero-bench): candidates with equal scores are ordered by ascending index, i.e. a
stable sort by descending score.  Without ties this is the order of the official ``itm_eval`` (``np.argsort``).

One pass over the images x texts matrix serves both directions: each chunk of image rows gives complete rows
(image -> text rankings) and updates a running top-k per text column (text -> image rankings).  Only the chunk
and the k-lists are ever in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

# Bytes of score chunk held at once (float32); peak memory is a small multiple of this plus the inputs.
DEFAULT_CHUNK_BYTES = 128 * 1024 * 1024


@dataclass
class TopK:
    """Per-query ranked candidates: ``indices[q]`` best first, with their ``scores``."""

    indices: torch.Tensor  # [n_queries, k] int64
    scores: torch.Tensor  # [n_queries, k] float32


def _grouped_topk(
    groups: torch.Tensor,
    values: torch.Tensor,
    items: torch.Tensor,
    n_groups: int,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """For flat candidates (group, value, item) whose input order already puts lower items first among equal
    values, return the exact top-k of every group as [n_groups, k] (groups must each have >= k candidates)."""
    order = torch.sort(values, descending=True, stable=True).indices
    order = order[torch.sort(groups[order], stable=True).indices]
    counts = torch.bincount(groups, minlength=n_groups)
    starts = torch.cumsum(counts, 0) - counts
    take = (starts[:, None] + torch.arange(k, device=groups.device)[None, :]).reshape(-1)
    picked = order[take]
    return values[picked].view(n_groups, k), items[picked].view(n_groups, k)


def _exact_row_topk_by_sort(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    rows = scores.shape[0]
    kth = torch.topk(scores, k, dim=1, sorted=False).values.amin(dim=1)
    row, col = torch.nonzero(scores >= kth[:, None], as_tuple=True)  # row-major: columns ascending per row
    return _grouped_topk(row, scores[row, col], col, rows, k)


def exact_row_topk(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of every row of ``scores`` under the tie rule: ([rows, k] values, [rows, k] column indices).

    ``torch.topk`` alone does not promise an order among equal values, so rows where any two of the k + 1 best
    values are equal (the only rows where the order could differ) are redone with an exact stable selection.
    """
    width = min(k + 1, scores.shape[1])
    values, indices = torch.topk(scores, width, dim=1, sorted=True)
    tied = (values[:, 1:] == values[:, :-1]).any(dim=1)
    values, indices = values[:, :k], indices[:, :k]
    if bool(tied.any()):
        rows = torch.nonzero(tied).squeeze(1)
        values[rows], indices[rows] = _exact_row_topk_by_sort(scores[rows], k)
    return values, indices


def exact_col_topk(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k of every column under the tie rule: ([k, columns] values, [k, columns] row indices)."""
    depth = min(k + 1, scores.shape[0])
    values, indices = torch.topk(scores, depth, dim=0, sorted=True)
    tied = (values[1:] == values[:-1]).any(dim=0)
    values, indices = values[:k], indices[:k]
    if bool(tied.any()):
        cols = torch.nonzero(tied).squeeze(1)
        exact_values, exact_rows = _exact_row_topk_by_sort(scores[:, cols].t(), k)
        values[:, cols], indices[:, cols] = exact_values.t(), exact_rows.t()
    return values, indices


class RunningTopK:
    """Exact running top-k per column over row chunks that arrive in increasing row order."""

    def __init__(self, n_columns: int, k: int, device: torch.device) -> None:
        self.k = k
        self.values = torch.full((n_columns, k), float("-inf"), device=device)
        self.indices = torch.full((n_columns, k), -1, dtype=torch.int64, device=device)

    def update(self, chunk: torch.Tensor, row_offset: int) -> None:
        # Strict comparison: an equal score from a later row loses the tie to the earlier row already kept.
        beats = chunk > self.values[:, -1][None, :]
        hits = int(torch.count_nonzero(beats))
        if hits == 0:
            return
        if hits > 2 * chunk.shape[1]:
            self._merge_dense(chunk, row_offset)
        else:
            self._merge_sparse(chunk, row_offset, beats)

    def _merge(self, affected: torch.Tensor, new_values: torch.Tensor, new_items: torch.Tensor) -> None:
        """Merge [n_affected, m] new entries (in row order, -inf padded) into the kept lists."""
        merged = torch.cat([self.values[affected], new_values], dim=1)  # old first: position = tie order
        values, positions = exact_row_topk(merged, self.k)
        items = torch.cat([self.indices[affected], new_items], dim=1).gather(1, positions)
        self.values[affected] = values
        self.indices[affected] = items

    def _merge_dense(self, chunk: torch.Tensor, row_offset: int) -> None:
        # Early chunks improve most columns: merge each column's own top-k of the chunk.
        values, rows = exact_col_topk(chunk, min(self.k, chunk.shape[0]))
        self._merge(torch.arange(chunk.shape[1], device=chunk.device), values.t(), rows.t() + row_offset)

    def _merge_sparse(self, chunk: torch.Tensor, row_offset: int, beats: torch.Tensor) -> None:
        # Later chunks improve few entries: pad each affected column's new entries into a small matrix.
        row, col = torch.nonzero(beats, as_tuple=True)
        by_col = torch.sort(col, stable=True).indices  # keeps row order within a column
        row, col = row[by_col], col[by_col]
        affected, counts = torch.unique_consecutive(col, return_counts=True)
        n_aff, width = affected.numel(), int(counts.max())
        slot = torch.arange(row.numel(), device=chunk.device) - torch.repeat_interleave(
            torch.cumsum(counts, 0) - counts, counts
        )
        local = torch.repeat_interleave(torch.arange(n_aff, device=chunk.device), counts)
        new_values = torch.full((n_aff, width), float("-inf"), device=chunk.device)
        new_items = torch.full((n_aff, width), -1, dtype=torch.int64, device=chunk.device)
        new_values[local, slot] = chunk[row, col]
        new_items[local, slot] = row + row_offset
        self._merge(affected, new_values, new_items)


def topk_both_ways(
    chunks: Iterator[tuple[int, torch.Tensor]],
    n_images: int,
    n_texts: int,
    k_i2t: int,
    k_t2i: int,
    device: torch.device,
) -> tuple[TopK, TopK]:
    """Consume (row_offset, [rows, n_texts] scores) chunks in row order; return (image->text, text->image)."""
    k_i2t, k_t2i = min(k_i2t, n_texts), min(k_t2i, n_images)
    i2t_values = torch.empty((n_images, k_i2t), device=device)
    i2t_indices = torch.empty((n_images, k_i2t), dtype=torch.int64, device=device)
    columns = RunningTopK(n_texts, k_t2i, device)
    expected = 0
    for offset, chunk in chunks:
        if offset != expected:
            raise ValueError(f"chunks must arrive in row order: expected row {expected}, got {offset}")
        chunk = chunk.float()
        values, idx = exact_row_topk(chunk, k_i2t)
        i2t_values[offset : offset + chunk.shape[0]] = values
        i2t_indices[offset : offset + chunk.shape[0]] = idx
        columns.update(chunk, offset)
        expected = offset + chunk.shape[0]
    if expected != n_images:
        raise ValueError(f"chunks covered {expected} of {n_images} rows")
    return TopK(i2t_indices, i2t_values), TopK(columns.indices, columns.values)


def rows_per_chunk(n_columns: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    return max(1, chunk_bytes // (4 * max(1, n_columns)))


def similarity_chunks(
    image_emb: torch.Tensor,
    text_emb: torch.Tensor,
    chunk_rows: int,
) -> Iterator[tuple[int, torch.Tensor]]:
    """(row offset, image_emb[rows] @ text_emb.T) for consecutive row chunks."""
    text_t = text_emb.t()
    for start in range(0, image_emb.shape[0], chunk_rows):
        yield start, image_emb[start : start + chunk_rows] @ text_t
