// Indexing along one axis of a block seen as (outer, n, inner): select / gather and their
// accumulating gradients.
//
// Every kernel first checks all indices against [0, n) and returns the position (in idx) of
// the first bad one, having written nothing; it returns -1 when all are valid and the work
// is done.
#pragma once

#include <cstdint>

namespace kiln {

// x: (outer, n, inner), idx: (m), out: (outer, m, inner); out[o, j, i] = x[o, idx[j], i]
int64_t index_select(const float* x, const int32_t* idx, int64_t m, float* out, int64_t outer, int64_t n,
                     int64_t inner);

// src: (outer, m, inner), idx: (m), dst: (outer, n, inner); dst[o, idx[j], i] += src[o, j, i]
int64_t index_add(const float* src, const int32_t* idx, int64_t m, float* dst, int64_t outer, int64_t n,
                  int64_t inner);

// x: (outer, n, inner), idx and out: (outer, m, inner); out[o, j, i] = x[o, idx[o, j, i], i]
int64_t gather(const float* x, const int32_t* idx, float* out, int64_t outer, int64_t n, int64_t m,
               int64_t inner);

// src and idx: (outer, m, inner), dst: (outer, n, inner); dst[o, idx[o, j, i], i] += src[o, j, i]
int64_t scatter_add(const float* src, const int32_t* idx, float* dst, int64_t outer, int64_t n, int64_t m,
                    int64_t inner);

}  // namespace kiln
