"""The sparse column sums every word-level score is built from: they must equal the dense arithmetic."""

from __future__ import annotations

import numpy as np

from bot.matching.columns import Columns

ROWS = [[(0, 1.0), (2, 2.0)], [], [(1, 0.5), (2, 1.5), (3, 4.0)], [(3, 1.0)]]


def dense(rows: list[list[tuple[int, float]]], width: int) -> np.ndarray:
    matrix = np.zeros((len(rows), width), dtype=np.float32)
    for r, row in enumerate(rows):
        for c, v in row:
            matrix[r, c] = v
    return matrix


def test_weighted_sum_of_some_columns_is_the_dense_product() -> None:
    columns = Columns(ROWS, 5)
    picked, weights = [3, 2, 0], [0.5, 2.0, 3.0]
    expected = dense(ROWS, 5)[:, picked] @ np.array(weights, dtype=np.float32)
    np.testing.assert_allclose(columns.weighted_sum(picked, weights), expected, rtol=1e-6)


def test_a_column_no_row_uses_adds_nothing() -> None:
    columns = Columns(ROWS, 5)
    assert columns.weighted_sum([4], [7.0]).tolist() == [0.0] * 4
    assert columns.weighted_sum([], []).tolist() == [0.0] * 4


def test_unit_rows_make_every_row_length_one() -> None:
    columns = Columns(ROWS, 5, unit_rows=True)
    matrix = dense(ROWS, 5)
    lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
    expected = np.divide(matrix, lengths, out=np.zeros_like(matrix), where=lengths > 0)
    for column in range(5):
        np.testing.assert_allclose(columns.weighted_sum([column], [1.0]), expected[:, column], rtol=1e-6)
