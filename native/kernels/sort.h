// Sorting and selection along the rows of a (rows, n) block: a stable sort and top-k.
//
// Order: NaN sorts as the largest value (as in PyTorch) and -0 equals +0. Equal values keep
// their order, lower index first, in both directions.
#pragma once

#include <cstdint>

namespace kiln {

// x: (rows, n); values, indices: (rows, n). Each row sorted ascending, or descending when
// `descending`, stably; indices are the positions in the row the values came from.
void sort_rows(const float* x, float* values, int32_t* indices, int64_t rows, int64_t n, bool descending);

// x: (rows, n); values, indices: (rows, k), 0 <= k <= n. The k largest values of each row
// (the k smallest unless `largest`), best first, with their positions.
void topk_rows(const float* x, float* values, int32_t* indices, int64_t rows, int64_t n, int64_t k, bool largest);

}  // namespace kiln
