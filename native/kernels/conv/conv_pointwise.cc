// Pointwise (1×1, stride 1, unpadded, groups 1) convolution forward, for inference: each
// image is one GEMM
//
//   y[n] (k, plane) = W (k, c) · x[n] (c, plane),   plane = h · w,
//
// with no im2col and no copies, cut into tiles of output channels × plane columns. The tiles
// of every image form one parallel loop, so two threads share the work at batch 1 too (at
// 7×7, where the plane alone gives one tile, by output channels), and each tile gets its bias
// and epilogue (a folded BatchNorm, ReLU or ReLU6) right after its GEMM, while it is in cache.
// The tiles depend on the shape only, never on the thread count, so neither do the results.
#include <algorithm>

#include "../gemm/gemm.h"
#include "../gemm/gemm_bf16_compute.h"
#include "../parallel.h"
#include "internal.h"

namespace kiln::conv {
namespace {

// Floats of x one tile reads (c × columns): about half of L2, so the tile's B operand and its
// output stay there for the epilogue.
constexpr int64_t kTileInputFloats = 1 << 16;

// Columns of a tile: at least this many (so packing W once per tile stays cheap against the
// tile's c·columns multiply-adds per row; with 64, DenseNet's 1024-channel 1×1 at batch 8 ran
// 10–18% slower than one GEMM per image, with 256 as fast within noise) and at most this many.
constexpr int64_t kMinTileColumns = 256;
constexpr int64_t kMaxTileColumns = 1024;

// Output channels of a tile: at most this many (one A block of the GEMM), and at least this
// many when channels are cut to give the threads more tiles.
constexpr int64_t kMaxTileChannels = 256;
constexpr int64_t kMinTileChannels = 32;

// Tiles a call should have at least (when the channels allow), so that 2–4 threads get
// balanced shares at batch 1. Counted over all images: at batch 8 an image's 128 output
// channels stay one tile, so its x block is packed once rather than once per 32 channels
// (DenseNet-121's batch-8 bottlenecks, best of 30, 2 threads: 3–20% faster than with 8 tiles
// an image, and as fast as or faster than kGemm).
constexpr int64_t kMinTiles = 8;

// Multiply-adds one parallel chunk should carry at least (a thread wake-up is ~10 µs).
constexpr double kMinFlopsPerChunk = 2.0e6;

// How one image's output (k, plane) is cut into tiles.
struct Tiling {
  int64_t columns, column_tiles;    // columns per tile (a multiple of 16 unless the whole plane)
  int64_t channels, channel_tiles;  // output channels per tile
  int64_t per_image() const { return column_tiles * channel_tiles; }

  explicit Tiling(const Conv2dShape& s) {
    const int64_t plane = s.h * s.w;
    const int64_t wanted = std::clamp(kTileInputFloats / std::max<int64_t>(s.c, 1), kMinTileColumns, kMaxTileColumns);
    columns = wanted >= plane ? plane : wanted / 16 * 16;
    column_tiles = ceil_div(plane, columns);
    channel_tiles = ceil_div(s.k, kMaxTileChannels);
    if (s.n * column_tiles * channel_tiles < kMinTiles) {
      const int64_t most = std::max<int64_t>(1, s.k / kMinTileChannels);
      channel_tiles = std::max(channel_tiles, std::min(most, ceil_div(kMinTiles, s.n * column_tiles)));
    }
    channels = ceil_div(s.k, channel_tiles);
    channel_tiles = ceil_div(s.k, channels);
  }
};

// Output channels [k0, k1) × columns [j0, j1) of image n: GEMM, then bias and epilogue per row.
void forward_tile(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                  const ConvEpilogue& e, int64_t n, int64_t k0, int64_t k1, int64_t j0, int64_t j1) {
  const int64_t plane = s.h * s.w;
  float* y_tile = y + (n * s.k + k0) * plane + j0;
  sgemm_in(s.gemm_precision, false, false, k1 - k0, j1 - j0, s.c, 1.0f, weight + k0 * s.c, s.c, x + n * s.c * plane + j0,
           plane, 0.0f, y_tile, plane);
  for (int64_t kk = k0; kk < k1; ++kk) {
    float* row = y_tile + (kk - k0) * plane;
    if (bias != nullptr) {
      for (int64_t j = 0; j < j1 - j0; ++j) row[j] += bias[kk];
    }
    finish_values(row, j1 - j0, kk, e);
  }
}

}  // namespace

bool pointwise_supported(const Conv2dShape& s) {
  return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
         s.pad_bottom == 0 && s.pad_left == 0 && s.pad_right == 0 && s.groups == 1 && s.out_h == s.h &&
         s.out_w == s.w;
}

void pointwise_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                       const ConvEpilogue& e) {
  const int64_t plane = s.h * s.w;
  const Tiling t(s);
  const double tile_flops = 2.0 * static_cast<double>(t.channels * t.columns * s.c);
  const int64_t grain = std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerChunk / std::max(tile_flops, 1.0)));
  parallel_for_balanced(0, s.n * t.per_image(), grain, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t n = tile / t.per_image(), in_image = tile % t.per_image();
      const int64_t k0 = in_image / t.column_tiles * t.channels, j0 = in_image % t.column_tiles * t.columns;
      forward_tile(x, weight, bias, y, s, e, n, k0, std::min(s.k, k0 + t.channels), j0, std::min(plane, j0 + t.columns));
    }
  });
}

}  // namespace kiln::conv
