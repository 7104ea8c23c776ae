#include "reduce.h"

#include <limits>

#include "parallel.h"

namespace kiln {
namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// Each op: the value of an empty reduction and how to fold one more element in.
struct Sum {
  static constexpr float identity = 0.0f;
  static float fold(float acc, float x) { return acc + x; }
};
struct Max {
  static constexpr float identity = -kInfinity;
  // Once acc is NaN nothing replaces it; a NaN x replaces any number.
  static float fold(float acc, float x) { return (x > acc || x != x) && acc == acc ? x : acc; }
};
struct Min {
  static constexpr float identity = kInfinity;
  static float fold(float acc, float x) { return (x < acc || x != x) && acc == acc ? x : acc; }
};

// A contiguous row x: (n). Sums use 8 independent accumulators so the loop vectorizes.
template <typename Op>
float reduce_row(const float* x, int64_t n) {
  constexpr int kLanes = 8;
  float lanes[kLanes];
  for (float& lane : lanes) lane = Op::identity;
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] = Op::fold(lanes[l], x[j + l]);
  }
  float acc = Op::identity;
  for (float lane : lanes) acc = Op::fold(acc, lane);
  for (; j < n; ++j) acc = Op::fold(acc, x[j]);
  return acc;
}

// Columns [i_begin, i_end) of one outer slice x: (n, inner), into out: (inner).
template <typename Op>
void reduce_columns(const float* x, float* out, int64_t n, int64_t inner, int64_t i_begin, int64_t i_end) {
  for (int64_t i = i_begin; i < i_end; ++i) out[i] = Op::identity;
  for (int64_t j = 0; j < n; ++j) {
    const float* x_row = x + j * inner;
    for (int64_t i = i_begin; i < i_end; ++i) out[i] = Op::fold(out[i], x_row[i]);
  }
}

template <typename Op>
void reduce_with(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    parallel_for(0, outer, grain_for(n), [=](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) out[o] = reduce_row<Op>(x + o * n, n);
    });
    return;
  }
  parallel_for_columns(outer, inner, n, inner, [=](int64_t o, int64_t i_begin, int64_t i_end) {
    reduce_columns<Op>(x + o * n * inner, out + o * inner, n, inner, i_begin, i_end);
  });
}

// True when x should replace best as the max (or min when !is_max): strictly more extreme,
// or the first NaN.
inline bool is_new_extreme(bool is_max, float x, float best) {
  if (best != best) return false;
  if (x != x) return true;
  return is_max ? x > best : x < best;
}

// Columns [i_begin, i_end) of one outer slice x: (n, inner), into values and indices: (inner).
void arg_reduce_columns(bool is_max, const float* x, float* values, int32_t* indices, int64_t n, int64_t inner,
                        int64_t i_begin, int64_t i_end) {
  for (int64_t i = i_begin; i < i_end; ++i) {
    values[i] = x[i];
    indices[i] = 0;
  }
  for (int64_t j = 1; j < n; ++j) {
    const float* x_row = x + j * inner;
    for (int64_t i = i_begin; i < i_end; ++i) {
      if (is_new_extreme(is_max, x_row[i], values[i])) {
        values[i] = x_row[i];
        indices[i] = static_cast<int32_t>(j);
      }
    }
  }
}

}  // namespace

void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  switch (op) {
    case ReduceOp::Sum: return reduce_with<Sum>(x, out, outer, n, inner);
    case ReduceOp::Max: return reduce_with<Max>(x, out, outer, n, inner);
    case ReduceOp::Min: return reduce_with<Min>(x, out, outer, n, inner);
  }
}

void arg_reduce(ReduceOp op, const float* x, float* values, int32_t* indices, int64_t outer, int64_t n,
                int64_t inner) {
  const bool is_max = op == ReduceOp::Max;
  parallel_for_columns(outer, inner, n, inner, [=](int64_t o, int64_t i_begin, int64_t i_end) {
    arg_reduce_columns(is_max, x + o * n * inner, values + o * inner, indices + o * inner, n, inner, i_begin,
                       i_end);
  });
}

}  // namespace kiln
