#include "scan.h"

#include "parallel.h"

namespace kiln {
namespace {

// Columns scanned side by side: one double accumulator each, on the stack.
constexpr int64_t kScanWidth = 256;

// Columns i_begin..i_end of x[o] (n, inner) into out[o].
template <ScanOp op>
void scan_columns(const float* x, float* out, int64_t n, int64_t inner, int64_t i_begin, int64_t i_end) {
  double acc[kScanWidth];
  const int64_t width = i_end - i_begin;
  for (int64_t c = 0; c < width; ++c) acc[c] = op == ScanOp::Sum ? 0.0 : 1.0;
  for (int64_t j = 0; j < n; ++j) {
    const float* x_row = x + j * inner + i_begin;
    float* out_row = out + j * inner + i_begin;
    for (int64_t c = 0; c < width; ++c) {
      if (op == ScanOp::Sum) acc[c] += x_row[c];
      else acc[c] *= x_row[c];
      out_row[c] = static_cast<float>(acc[c]);
    }
  }
}

template <ScanOp op>
void scan_block(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  parallel_for_columns(outer, inner, n, kScanWidth, [=](int64_t o, int64_t i_begin, int64_t i_end) {
    scan_columns<op>(x + o * n * inner, out + o * n * inner, n, inner, i_begin, i_end);
  });
}

}  // namespace

void scan(ScanOp op, const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (n == 0) return;
  if (op == ScanOp::Sum) scan_block<ScanOp::Sum>(x, out, outer, n, inner);
  else scan_block<ScanOp::Prod>(x, out, outer, n, inner);
}

}  // namespace kiln
