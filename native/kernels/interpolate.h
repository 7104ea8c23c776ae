// Separable 2-D interpolation over planes (NCHW with n·c folded into `planes`), forward and
// its adjoint, with PyTorch 1.13's source-index rules computed in float as PyTorch does for
// float32: bilinear (2 taps per axis) and bicubic (4 taps, A = -0.75, indices clamped to the
// edge). 1-D linear interpolation is the h = out_h = 1 case.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

struct Upsample2dShape {
  int64_t planes, h, w;  // x: (planes, h, w)
  int64_t out_h, out_w;  // y: (planes, out_h, out_w)
  bool cubic;            // bicubic when true, else bilinear
  bool align_corners;    // corner pixel centres map onto each other
  double scale_h, scale_w;  // the user's scale factors (out/in), or 0 to use in/out
};

// Input indices and weights of each output position along one axis: `taps` per position.
struct AxisTaps {
  int taps;
  std::vector<int64_t> index;  // (out, taps)
  std::vector<float> weight;   // (out, taps)
};

// The taps of an axis of `in_size` resized to `out_size` (PyTorch's area_pixel_compute_scale,
// area_pixel_compute_source_index and guard_index_and_lambda, in float).
AxisTaps upsample_axis_taps(int64_t in_size, int64_t out_size, bool cubic, bool align_corners, double scale);

// y[p, oh, ow] = sum_a sum_b wh[oh, a] * ww[ow, b] * x[p, ih[oh, a], iw[ow, b]].
void upsample2d_forward(const float* x, float* y, const Upsample2dShape& s);

// gx (planes, h, w), overwritten: the adjoint of upsample2d_forward applied to gy.
void upsample2d_backward(const float* gy, float* gx, const Upsample2dShape& s);

}  // namespace kiln
