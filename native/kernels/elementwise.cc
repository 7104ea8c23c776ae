#include "elementwise.h"

#include <algorithm>

#include <cmath>
#include <limits>

#include "parallel.h"
#include "strided_rows.h"
#include "trig.h"

namespace kiln {
namespace {

// Work per element of a transcendental function, relative to an add.
constexpr int64_t kExpensiveOpWork = 8;

// ---- unary --------------------------------------------------------------------------------

struct Neg { static float apply(float x) { return -x; } };
struct Abs { static float apply(float x) { return std::fabs(x); } };
struct Exp { static float apply(float x) { return std::exp(x); } };
struct Log { static float apply(float x) { return std::log(x); } };
struct Sqrt { static float apply(float x) { return std::sqrt(x); } };
struct Sigmoid { static float apply(float x) { return 1.0f / (1.0f + std::exp(-x)); } };
struct Tanh { static float apply(float x) { return std::tanh(x); } };
struct Relu { static float apply(float x) { return x < 0.0f ? 0.0f : x; } };  // NaN stays NaN
struct Sign { static float apply(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); } };  // as Math.sign
struct Reciprocal { static float apply(float x) { return 1.0f / x; } };
struct Square { static float apply(float x) { return x * x; } };
struct Erf { static float apply(float x) { return std::erf(x); } };
struct Expm1 { static float apply(float x) { return std::expm1(x); } };
struct Log1p { static float apply(float x) { return std::log1p(x); } };
struct Sinh { static float apply(float x) { return std::sinh(x); } };
struct Cosh { static float apply(float x) { return std::cosh(x); } };
struct Rsqrt { static float apply(float x) { return 1.0f / std::sqrt(x); } };
struct Floor { static float apply(float x) { return std::floor(x); } };
struct Ceil { static float apply(float x) { return std::ceil(x); } };
// The default floating-point environment rounds to nearest, ties to even (as torch.round).
struct Round { static float apply(float x) { return std::nearbyint(x); } };

template <typename Op>
void unary_loop(const float* x, float* out, int64_t n, int64_t work_per_element) {
  parallel_for(0, n, grain_for(work_per_element), [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = Op::apply(x[i]);
  });
}

// ---- binary and compare -------------------------------------------------------------------

struct Add { static float apply(float a, float b) { return a + b; } };
struct Sub { static float apply(float a, float b) { return a - b; } };
struct Mul { static float apply(float a, float b) { return a * b; } };
struct Div { static float apply(float a, float b) { return a / b; } };
// JavaScript's a ** b: unlike C's pow, 1 ** NaN and (±1) ** ±Infinity are NaN.
struct Pow {
  static float apply(float a, float b) {
    if (std::isnan(b) || (std::isinf(b) && std::fabs(a) == 1.0f)) return std::numeric_limits<float>::quiet_NaN();
    return std::pow(a, b);
  }
};
struct Maximum { static float apply(float a, float b) { return a != a ? a : (b != b ? b : (a > b ? a : b)); } };
struct Minimum { static float apply(float a, float b) { return a != a ? a : (b != b ? b : (a < b ? a : b)); } };
struct Atan2 { static float apply(float a, float b) { return std::atan2(a, b); } };
struct Fmod { static float apply(float a, float b) { return std::fmod(a, b); } };
// fmod moved to b's sign when the signs differ (torch.remainder's formula).
struct Remainder {
  static float apply(float a, float b) {
    const float r = std::fmod(a, b);
    return r != 0.0f && ((r < 0.0f) != (b < 0.0f)) ? r + b : r;
  }
};

struct Eq { static uint8_t apply(float a, float b) { return a == b; } };
struct Ne { static uint8_t apply(float a, float b) { return a != b; } };
struct Lt { static uint8_t apply(float a, float b) { return a < b; } };
struct Le { static uint8_t apply(float a, float b) { return a <= b; } };
struct Gt { static uint8_t apply(float a, float b) { return a > b; } };
struct Ge { static uint8_t apply(float a, float b) { return a >= b; } };

// One contiguous run of the output: out[i] = op(a[i * a_step], b[i * b_step]), i < n.
// Steps of 1 and 0 (a broadcast scalar) get loops the compiler can vectorize.
template <typename Op, typename Out>
void binary_run(const float* a, int64_t a_step, const float* b, int64_t b_step, Out* out, int64_t n) {
  if (a_step == 1 && b_step == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i], b[i]);
  } else if (a_step == 1 && b_step == 0) {
    const float b_value = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i], b_value);
  } else if (a_step == 0 && b_step == 1) {
    const float a_value = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(a_value, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i * a_step], b[i * b_step]);
  }
}

// a: (n) or (1), b: (n) or (1), out: (n)
template <typename Op, typename Out>
void binary_flat(const float* a, bool a_is_scalar, const float* b, bool b_is_scalar, Out* out, int64_t n,
                 int64_t work_per_element) {
  parallel_for(0, n, grain_for(work_per_element), [=](int64_t begin, int64_t end) {
    const float* a_run = a_is_scalar ? a : a + begin;
    const float* b_run = b_is_scalar ? b : b + begin;
    binary_run<Op>(a_run, a_is_scalar ? 0 : 1, b_run, b_is_scalar ? 0 : 1, out + begin, end - begin);
  });
}

// Tiles binary_planned_tiled walks: many output rows, few columns. A transposed operand then
// reads kTileCols distinct rows of its storage per tile, each run of kTileRows contiguous, so
// its lines stay in L1 even when its stride is a power of two (whose lines share one cache
// set: 32 columns of a 4096-wide matrix thrash an 8-way L1; measured on 4096² float32 with
// one thread: 32×32 tiles 112 ms, 128×8 tiles 50 ms, untiled rows ~400 ms in kiln).
constexpr int64_t kTileRows = 128;
constexpr int64_t kTileCols = 8;

// True when an operand steps through memory along the output's rows (|stride| > 1 in the last
// dim, as a transposed view does) and the plan is big enough in its last two dims to tile.
inline bool wants_tiles(const BroadcastPlan& plan) {
  if (plan.ndim < 2) return false;
  const int64_t last = plan.ndim - 1;
  const auto strided = [](int32_t step) { return step != 0 && step != 1; };
  return (strided(plan.a_strides[last]) || strided(plan.b_strides[last])) && plan.shape[last] >= 2 * kTileCols &&
         plan.shape[last - 1] >= 2 * kTileCols;
}

// out: (plane, rows, cols) = the plan's dims, contiguous; each (rows, cols) plane walked in
// kTileRows × kTileCols tiles, so a transposed operand reuses each cache line and page it
// touches across the tile's rows instead of loading one per element of a row. Parallel over
// row blocks.
template <typename Op, typename Out>
void binary_planned_tiled(const float* a, const float* b, Out* out, const BroadcastPlan& plan,
                          int64_t work_per_element) {
  const int64_t last = plan.ndim - 1, row_dim = plan.ndim - 2;
  const int64_t cols = plan.shape[last], rows = plan.shape[row_dim];
  const int64_t planes = product(plan.shape, row_dim);
  const int64_t blocks_per_plane = (rows + kTileRows - 1) / kTileRows;
  const int64_t as_row = plan.a_strides[row_dim], as_col = plan.a_strides[last];
  const int64_t bs_row = plan.b_strides[row_dim], bs_col = plan.b_strides[last];
  const int64_t work = kTileRows * cols * work_per_element;
  parallel_for(0, planes * blocks_per_plane, grain_for(work), [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t plane = block / blocks_per_plane;
      const int64_t r0 = (block % blocks_per_plane) * kTileRows;
      const int64_t r1 = std::min(rows, r0 + kTileRows);
      // The plane's first element: a cursor over the dims before the last two.
      const RowCursor at(plan.ndim - 1, plan.shape, plan.a_strides, plan.b_strides, 0, 0, plane);
      for (int64_t c0 = 0; c0 < cols; c0 += kTileCols) {
        const int64_t n = std::min(cols, c0 + kTileCols) - c0;
        for (int64_t r = r0; r < r1; ++r) {
          binary_run<Op>(a + at.offset(0) + r * as_row + c0 * as_col, as_col, b + at.offset(1) + r * bs_row + c0 * bs_col,
                         bs_col, out + (plane * rows + r) * cols + c0, n);
        }
      }
    }
  });
}

// out: (plan.shape), contiguous; walked row by row (a row is one run of the last dim), or in
// tiles when an operand is transposed (wants_tiles).
template <typename Op, typename Out>
void binary_planned(const float* a, const float* b, Out* out, const BroadcastPlan& plan,
                    int64_t work_per_element) {
  if (plan.ndim == 0) {
    out[0] = Op::apply(a[0], b[0]);
    return;
  }
  const int64_t last = plan.ndim - 1;
  const int64_t row_length = plan.shape[last];
  const int64_t rows = product(plan.shape, last);
  if (row_length == 0 || rows == 0) return;
  if (wants_tiles(plan)) {
    binary_planned_tiled<Op>(a, b, out, plan, work_per_element);
    return;
  }
  parallel_for(0, rows, grain_for(row_length * work_per_element), [&](int64_t begin, int64_t end) {
    RowCursor cursor(plan.ndim, plan.shape, plan.a_strides, plan.b_strides, 0, 0, begin);
    for (int64_t row = begin; row < end; ++row, cursor.advance()) {
      binary_run<Op>(a + cursor.offset(0), plan.a_strides[last], b + cursor.offset(1), plan.b_strides[last],
                     out + row * row_length, row_length);
    }
  });
}

// Calls fn(Op{}, work_per_element) with the functor type of a binary op code.
template <typename Fn>
void with_binary_op(BinaryOp op, const Fn& fn) {
  switch (op) {
    case BinaryOp::Add: return fn(Add{}, 1);
    case BinaryOp::Sub: return fn(Sub{}, 1);
    case BinaryOp::Mul: return fn(Mul{}, 1);
    case BinaryOp::Div: return fn(Div{}, 1);
    case BinaryOp::Pow: return fn(Pow{}, kExpensiveOpWork);
    case BinaryOp::Maximum: return fn(Maximum{}, 1);
    case BinaryOp::Minimum: return fn(Minimum{}, 1);
    case BinaryOp::Atan2: return fn(Atan2{}, kExpensiveOpWork);
    case BinaryOp::Fmod: return fn(Fmod{}, kExpensiveOpWork);
    case BinaryOp::Remainder: return fn(Remainder{}, kExpensiveOpWork);
  }
}

template <typename Fn>
void with_compare_op(CompareOp op, const Fn& fn) {
  switch (op) {
    case CompareOp::Eq: return fn(Eq{});
    case CompareOp::Ne: return fn(Ne{});
    case CompareOp::Lt: return fn(Lt{});
    case CompareOp::Le: return fn(Le{});
    case CompareOp::Gt: return fn(Gt{});
    case CompareOp::Ge: return fn(Ge{});
  }
}

}  // namespace

void unary(UnaryOp op, const float* x, float* out, int64_t n) {
  switch (op) {
    case UnaryOp::Neg: return unary_loop<Neg>(x, out, n, 1);
    case UnaryOp::Abs: return unary_loop<Abs>(x, out, n, 1);
    case UnaryOp::Exp: return unary_loop<Exp>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Log: return unary_loop<Log>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Sqrt: return unary_loop<Sqrt>(x, out, n, 1);
    case UnaryOp::Sigmoid: return unary_loop<Sigmoid>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Tanh: return unary_loop<Tanh>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Relu: return unary_loop<Relu>(x, out, n, 1);
    case UnaryOp::Sign: return unary_loop<Sign>(x, out, n, 1);
    case UnaryOp::Reciprocal: return unary_loop<Reciprocal>(x, out, n, 1);
    case UnaryOp::Square: return unary_loop<Square>(x, out, n, 1);
    case UnaryOp::Erf: return unary_loop<Erf>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Expm1: return unary_loop<Expm1>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Log1p: return unary_loop<Log1p>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Sin: return trig(TrigFunction::Sin, x, out, n);
    case UnaryOp::Cos: return trig(TrigFunction::Cos, x, out, n);
    case UnaryOp::Tan: return trig(TrigFunction::Tan, x, out, n);
    case UnaryOp::Sinh: return unary_loop<Sinh>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Cosh: return unary_loop<Cosh>(x, out, n, kExpensiveOpWork);
    case UnaryOp::Rsqrt: return unary_loop<Rsqrt>(x, out, n, 1);
    case UnaryOp::Floor: return unary_loop<Floor>(x, out, n, 1);
    case UnaryOp::Ceil: return unary_loop<Ceil>(x, out, n, 1);
    case UnaryOp::Round: return unary_loop<Round>(x, out, n, 1);
  }
}

void binary(BinaryOp op, const float* a, bool a_is_scalar, const float* b, bool b_is_scalar, float* out,
            int64_t n) {
  with_binary_op(op, [&](auto op_type, int64_t work) {
    binary_flat<decltype(op_type)>(a, a_is_scalar, b, b_is_scalar, out, n, work);
  });
}

void binary_broadcast(BinaryOp op, const float* a, const float* b, float* out, const BroadcastPlan& plan) {
  with_binary_op(op, [&](auto op_type, int64_t work) { binary_planned<decltype(op_type)>(a, b, out, plan, work); });
}

void compare(CompareOp op, const float* a, bool a_is_scalar, const float* b, bool b_is_scalar, uint8_t* out,
             int64_t n) {
  with_compare_op(op, [&](auto op_type) {
    binary_flat<decltype(op_type)>(a, a_is_scalar, b, b_is_scalar, out, n, 1);
  });
}

void compare_broadcast(CompareOp op, const float* a, const float* b, uint8_t* out, const BroadcastPlan& plan) {
  with_compare_op(op, [&](auto op_type) { binary_planned<decltype(op_type)>(a, b, out, plan, 1); });
}

void where(const uint8_t* cond, const float* a, const float* b, float* out, int64_t n) {
  parallel_for(0, n, grain_for(1), [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float from_a = a[i];  // both loads unconditional, so the loop vectorizes
      const float from_b = b[i];
      out[i] = cond[i] ? from_a : from_b;
    }
  });
}

void relu_backward(const float* g, const float* x, float* out, int64_t n) {
  parallel_for(0, n, grain_for(1), [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gradient = g[i];
      out[i] = x[i] > 0.0f ? gradient : 0.0f;
    }
  });
}

void clamp(const float* x, float lo, float hi, float* out, int64_t n) {
  parallel_for(0, n, grain_for(1), [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float raised = x[i] < lo ? lo : x[i];  // NaN compares false, so it stays NaN
      out[i] = raised > hi ? hi : raised;
    }
  });
}

}  // namespace kiln
