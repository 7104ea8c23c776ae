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

// Steps read together by the contiguous-lane path (see pack_contiguous_lanes).
constexpr int64_t kStepGroup = 8;

// Every panel of a strip whose lanes are contiguous (lane_stride == 1): step p of the source is
// one run of `lanes` floats, cut into `width`-float pieces, one per panel. The steps are taken
// kStepGroup at a time, each panel's piece of every step in the group before the next panel:
// the source is then read as kStepGroup sequential streams at once, which keeps several DRAM
// rows and TLB walks in flight (a long B read one step at a time, in runs of a few KiB, gets
// about half the bandwidth), while each panel receives kStepGroup · width contiguous floats.
// WIDTH > 0 is the panel width as a constant, so each piece is a few inlined vector moves
// rather than a memcpy call; WIDTH == 0 takes it from `width`.
template <int WIDTH>
void pack_contiguous_lanes(const float* src, int64_t depth_stride, int64_t lanes, int64_t depth, int width,
                           float* dst) {
  if (WIDTH > 0) width = WIDTH;
  const int64_t full = lanes / width * width;  // lanes in full panels
  const int64_t edge = lanes - full;           // lanes in the last, zero-padded panel
  for (int64_t p0 = 0; p0 < depth; p0 += kStepGroup) {
    const int64_t p1 = std::min(depth, p0 + kStepGroup);
    for (int64_t l0 = 0; l0 < full; l0 += width) {
      for (int64_t p = p0; p < p1; ++p) {
        std::memcpy(dst + l0 * depth + p * width, src + p * depth_stride + l0, sizeof(float) * width);
      }
    }
    if (edge == 0) continue;
    for (int64_t p = p0; p < p1; ++p) {
      float* out = dst + full * depth + p * width;
      std::memcpy(out, src + p * depth_stride + full, sizeof(float) * edge);
      std::fill(out + edge, out + width, 0.0f);
    }
  }
}

// pack_contiguous_lanes with the panel widths of the kernels in config.h as constants.
void pack_contiguous(const float* src, int64_t depth_stride, int64_t lanes, int64_t depth, int width, float* dst) {
  switch (width) {
    case 4: return pack_contiguous_lanes<4>(src, depth_stride, lanes, depth, width, dst);
    case 6: return pack_contiguous_lanes<6>(src, depth_stride, lanes, depth, width, dst);
    case 8: return pack_contiguous_lanes<8>(src, depth_stride, lanes, depth, width, dst);
    case 12: return pack_contiguous_lanes<12>(src, depth_stride, lanes, depth, width, dst);
    case 16: return pack_contiguous_lanes<16>(src, depth_stride, lanes, depth, width, dst);
    case 32: return pack_contiguous_lanes<32>(src, depth_stride, lanes, depth, width, dst);
    default: return pack_contiguous_lanes<0>(src, depth_stride, lanes, depth, width, dst);
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
  if (lane_stride == 1) {
    pack_contiguous(src, depth_stride, lanes, depth, width, dst);
    return;
  }
  for (int64_t l0 = 0; l0 < lanes; l0 += width) {
    const int64_t n = std::min<int64_t>(width, lanes - l0);
    const float* panel_src = src + l0 * lane_stride;
    float* panel_dst = dst + l0 * depth;  // (l0 / width) * width * depth
    if (depth_stride == 1 && kernel.pack_lanes != nullptr) {
      kernel.pack_lanes(panel_src, lane_stride, n, depth, width, panel_dst);
    } else {
      pack_strided_lanes(panel_src, lane_stride, depth_stride, n, depth, width, panel_dst);
    }
  }
}

}  // namespace kiln::gemm
