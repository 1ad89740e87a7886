"""A sparse matrix read by whole columns: how a question reads the phrasing × word matrices.

Hand-written rather than scipy.sparse because the one operation needed, a
weighted sum of a few columns, is a few lines of NumPy, while importing
scipy.sparse costs about a fifth of the one-second budget for `pmbot ask`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class Columns:
    """Compressed sparse columns (the CSC layout) of a rows × width matrix given row by row."""

    def __init__(self, rows: Sequence[Sequence[tuple[int, float]]], width: int, *, unit_rows: bool = False) -> None:
        """`rows` holds each row's (column, value) pairs, each column at most once; `unit_rows` scales rows to length 1."""
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        total = int(lengths.sum())
        columns = np.fromiter((c for row in rows for c, _ in row), dtype=np.int64, count=total)
        values = np.fromiter((v for row in rows for _, v in row), dtype=np.float64, count=total)
        row_of = np.repeat(np.arange(len(rows), dtype=np.int32), lengths)
        if unit_rows:
            norms = np.sqrt(np.bincount(row_of, weights=values**2, minlength=len(rows)))
            values /= np.where(norms > 0, norms, 1.0)[row_of]
        order = np.argsort(columns, kind="stable")
        self.shape = (len(rows), width)
        self.rows = row_of[order]
        self.values = values[order].astype(np.float32)
        self.starts = np.concatenate([[0], np.cumsum(np.bincount(columns, minlength=width))])

    @classmethod
    def from_arrays(cls, starts: np.ndarray, rows: np.ndarray, values: np.ndarray, height: int) -> Columns:
        """Columns already in the CSC layout: column c's rows and values are at starts[c]:starts[c + 1]."""
        self = cls.__new__(cls)
        self.shape = (height, len(starts) - 1)
        self.starts, self.rows, self.values = starts, rows, values.astype(np.float32, copy=False)
        return self

    def weighted_sum(self, columns: Sequence[int], weights: Sequence[float]) -> np.ndarray:
        """Σ weights[k] × column columns[k], as a dense vector over the rows."""
        out = np.zeros(self.shape[0], dtype=np.float32)
        if len(columns) == 0:
            return out
        picked = np.asarray(columns, dtype=np.intp)
        starts = self.starts[picked]
        lengths = self.starts[picked + 1] - starts
        ends = np.cumsum(lengths)
        # Every picked column's places in rows/values, in column order: one gather instead of a loop per
        # column (a question reads dozens of the classifier's columns). np.add.at adds in that same order,
        # so the sums are the very floats a column-by-column loop gives.
        places = np.arange(ends[-1]) + np.repeat(starts - ends + lengths, lengths)
        np.add.at(out, self.rows[places], self.values[places] * np.repeat(np.asarray(weights, dtype=np.float32), lengths))
        return out

