// 2-D pooling over planes (NCHW with n·c folded into `planes`), forward and backward.
// 1-D pooling is the h = 1 case; global pooling is a window covering the whole plane.
#pragma once

#include <cstdint>

namespace kiln {

struct Pool2dShape {
  int64_t planes, h, w;          // x: (planes, h, w)
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_h, pad_w;          // on both sides; at most half the kernel
  int64_t dilation_h, dilation_w;  // max pooling only (1 for average pooling)
  int64_t out_h, out_w;          // y: (planes, out_h, out_w), from floor or ceil mode
};

// y = the max over each window (padding never wins), indices = where it is, as ih·w + iw.
// Ties go to the first position in row-major window order; a NaN wins (the last NaN).
void max_pool2d_forward(const float* x, float* y, int32_t* indices, const Pool2dShape& s);

// gx (planes, h, w) = zeros with gy added at indices (each in [0, h·w)).
void max_pool2d_backward(const float* gy, const int32_t* indices, float* gx, const Pool2dShape& s);

// y = the mean over each window. Windows are clipped to the padded input; the divisor is
// divisor_override when > 0, else the clipped window's size (count_include_pad) or its number
// of input elements.
void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s, bool count_include_pad,
                        int64_t divisor_override);

// gx (planes, h, w) = each gy spread evenly back over its window (same divisor).
void avg_pool2d_backward(const float* gy, float* gx, const Pool2dShape& s, bool count_include_pad,
                         int64_t divisor_override);

// Adaptive average pooling, x: (planes, h, w) → y: (planes, out_h, out_w): output row i
// averages input rows [⌊i·h/out_h⌋, ⌈(i+1)·h/out_h⌉), columns likewise.
void adaptive_avg_pool2d_forward(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t out_h,
                                 int64_t out_w);
void adaptive_avg_pool2d_backward(const float* gy, float* gx, int64_t planes, int64_t h, int64_t w, int64_t out_h,
                                  int64_t out_w);

}  // namespace kiln
