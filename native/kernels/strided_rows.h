// Walking the rows of an n-d index space whose operands are addressed through strides.
// Shared by the broadcasting elementwise kernels and the strided copy kernels.
#pragma once

#include <cstdint>

namespace kiln {

// The most dims a strided or broadcast kernel accepts (the bindings enforce it).
constexpr int64_t kMaxDims = 64;

// A position in the rows of a shape (ndim dims; a row is one run of the last dim), with the
// element offset where that row starts in each of up to two strided operands.
//   shape, strides[k]: (ndim)
class RowCursor {
 public:
  // Positions the cursor at row `row` (0 <= row < product of all dims but the last).
  RowCursor(int64_t ndim, const int32_t* shape, const int32_t* strides0, const int32_t* strides1,
            int64_t base_offset0, int64_t base_offset1, int64_t row)
      : outer_dims_(ndim - 1), shape_(shape), strides_{strides0, strides1}, offset_{base_offset0, base_offset1} {
    for (int64_t d = outer_dims_ - 1; d >= 0; --d) {
      index_[d] = row % shape[d];
      row /= shape[d];
      add_to_offsets(d, index_[d]);
    }
  }

  int64_t offset(int operand) const { return offset_[operand]; }

  // Moves to the next row in row-major order.
  void advance() {
    for (int64_t d = outer_dims_ - 1; d >= 0; --d) {
      add_to_offsets(d, 1);
      if (++index_[d] < shape_[d]) return;
      add_to_offsets(d, -index_[d]);
      index_[d] = 0;
    }
  }

 private:
  void add_to_offsets(int64_t d, int64_t steps) {
    for (int k = 0; k < 2; ++k) {
      if (strides_[k] != nullptr) offset_[k] += steps * strides_[k][d];
    }
  }

  int64_t outer_dims_;
  const int32_t* shape_;
  const int32_t* strides_[2];
  int64_t offset_[2];
  int64_t index_[kMaxDims];
};

// Product of shape[0 .. count); 0 as soon as any entry is 0 (the nonzero entries of a shape
// may then multiply past int64_t, so they are not multiplied).
inline int64_t product(const int32_t* shape, int64_t count) {
  for (int64_t d = 0; d < count; ++d) {
    if (shape[d] == 0) return 0;
  }
  int64_t result = 1;
  for (int64_t d = 0; d < count; ++d) result *= shape[d];
  return result;
}

}  // namespace kiln
