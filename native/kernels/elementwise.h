// Elementwise kernels: unary, binary with broadcasting, compare, where, clamp.
#pragma once

#include <cstdint>

namespace kiln {

// Op codes: the numeric values must match UnaryOp / BinaryOp / CompareOp in
// lib/backend/backend.ts.
enum class UnaryOp : int32_t {
  Neg = 0, Abs = 1, Exp = 2, Log = 3, Sqrt = 4, Sigmoid = 5, Tanh = 6, Relu = 7, Sign = 8,
  Reciprocal = 9, Square = 10, Erf = 11, Expm1 = 12, Log1p = 13,
  Sin = 14, Cos = 15, Tan = 16, Sinh = 17, Cosh = 18, Rsqrt = 19, Floor = 20, Ceil = 21,
  Round = 22,  // half to even
};
constexpr int32_t kUnaryOpCount = 23;

// `Pow` is a ** b; `Maximum` / `Minimum` propagate NaN. `Fmod` is C's fmod (the sign of a);
// `Remainder` is Python's a % b (the sign of b), as torch.remainder.
enum class BinaryOp : int32_t {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Pow = 4, Maximum = 5, Minimum = 6, Atan2 = 7, Fmod = 8, Remainder = 9,
};
constexpr int32_t kBinaryOpCount = 10;

enum class CompareOp : int32_t { Eq = 0, Ne = 1, Lt = 2, Le = 3, Gt = 4, Ge = 5 };
constexpr int32_t kCompareOpCount = 6;

// How a and b broadcast into an output of `shape` (ndim dims): per output dim, the element
// stride to step in a and in b (0 where the operand broadcasts). The output is contiguous.
struct BroadcastPlan {
  int64_t ndim;
  const int32_t* shape;      // (ndim)
  const int32_t* a_strides;  // (ndim)
  const int32_t* b_strides;  // (ndim)
};

// x, out: (n)
void unary(UnaryOp op, const float* x, float* out, int64_t n);

// Without a plan. a: (n) or (1) when a_is_scalar; b likewise; out: (n)
void binary(BinaryOp op, const float* a, bool a_is_scalar, const float* b, bool b_is_scalar, float* out,
            int64_t n);

// With a plan. out: (product of plan.shape), a and b addressed through the plan's strides.
void binary_broadcast(BinaryOp op, const float* a, const float* b, float* out, const BroadcastPlan& plan);

// As binary, writing 0/1 bytes.
void compare(CompareOp op, const float* a, bool a_is_scalar, const float* b, bool b_is_scalar, uint8_t* out,
             int64_t n);
void compare_broadcast(CompareOp op, const float* a, const float* b, uint8_t* out, const BroadcastPlan& plan);

// cond, a, b, out: (n); out[i] = cond[i] ? a[i] : b[i]
void where(const uint8_t* cond, const float* a, const float* b, float* out, int64_t n);

// ReLU's backward pass: out[i] = x[i] > 0 ? g[i] : 0 (NaN x gives 0). One pass instead of a
// compare, a zero fill and a where.
void relu_backward(const float* g, const float* x, float* out, int64_t n);

// x, out: (n); out[i] = min(max(x[i], lo), hi), NaN stays NaN
void clamp(const float* x, float lo, float hi, float* out, int64_t n);

}  // namespace kiln
