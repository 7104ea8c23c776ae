// Packing: copies blocks of A and B into the panel layout the micro-kernels stream through
// (see pack_panels in internal.h), so the micro-kernel's loads are contiguous whatever the
// transposes and leading dimensions.
#include <algorithm>
#include <cstring>

#include "internal.h"

namespace kiln::gemm {
namespace {

// Steps of depth copied per pass of the transposing path, so its writes stay in a few cache
// lines per lane.
constexpr int64_t kDepthBlock = 16;

// One panel of n <= width lanes whose lanes are contiguous (lane_stride == 1): each step is a
// straight copy of n floats.
void pack_contiguous_lanes(const float* src, int64_t depth_stride, int64_t n, int64_t depth, int width, float* dst) {
  for (int64_t p = 0; p < depth; ++p) {
    std::memcpy(dst + p * width, src + p * depth_stride, sizeof(float) * n);
    std::fill(dst + p * width + n, dst + (p + 1) * width, 0.0f);
  }
}

// One panel of n <= width lanes in any layout (typically each lane contiguous along depth):
// a blocked transpose.
void pack_strided_lanes(const float* src, int64_t lane_stride, int64_t depth_stride, int64_t n, int64_t depth,
                        int width, float* dst) {
  for (int64_t p0 = 0; p0 < depth; p0 += kDepthBlock) {
    const int64_t p1 = std::min(depth, p0 + kDepthBlock);
    for (int64_t l = 0; l < n; ++l) {
      const float* lane = src + l * lane_stride;
      for (int64_t p = p0; p < p1; ++p) dst[p * width + l] = lane[p * depth_stride];
    }
    for (int64_t p = p0; p < p1; ++p) std::fill(dst + p * width + n, dst + (p + 1) * width, 0.0f);
  }
}

}  // namespace

void pack_panels(const GemmKernel& kernel, const float* src, int64_t lane_stride, int64_t depth_stride, int64_t lanes,
                 int64_t depth, int width, float* dst) {
  for (int64_t l0 = 0; l0 < lanes; l0 += width) {
    const int64_t n = std::min<int64_t>(width, lanes - l0);
    const float* panel_src = src + l0 * lane_stride;
    float* panel_dst = dst + l0 * depth;  // (l0 / width) * width * depth
    if (lane_stride == 1) {
      pack_contiguous_lanes(panel_src, depth_stride, n, depth, width, panel_dst);
    } else if (depth_stride == 1 && kernel.pack_lanes != nullptr) {
      kernel.pack_lanes(panel_src, lane_stride, n, depth, width, panel_dst);
    } else {
      pack_strided_lanes(panel_src, lane_stride, depth_stride, n, depth, width, panel_dst);
    }
  }
}

}  // namespace kiln::gemm
