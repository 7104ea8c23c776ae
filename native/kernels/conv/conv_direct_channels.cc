// Direct convolution with the output channels in the vector lanes, for k a multiple of 16:
// few input channels at stride 1 (LeNet's second layer), and stride 2 (downsampling layers,
// RGB stems), where im2col would copy each input several times. Where conv_direct.cc puts 16
// pixels of a row in the lanes (a 10-pixel row then wastes 6 of them), here a lane is an
// output channel k, so every lane does useful work whatever the plane size (s: the stride):
//
//   forward          y[n, :, oh, ow]   = Σ over taps t = (c, r, q) of x[n, c, oh·s + r, ow·s + q] · wt[t, :]
//                    wt: the weight transposed to (c·kh·kw, k); P pixels of a row accumulate in
//                    registers for 16 channels (32 on AVX-512 when two blocks are left), each
//                    tap is one vector load of wt per 16 channels and P broadcast multiply-adds
//   backward weight  gwt[t, :] = Σ over n, oh, ow of x[n, c, oh·s + r, ow·s + q] · gyt[n, oh, ow, :]
//                    gyt: gy transposed to pixel-major (n, oh, ow, k); the taps of up to four
//                    (c, r) rows accumulate in registers for 16 channels (32 on AVX-512 for
//                    kernels up to 3 wide), each pixel is one vector load of gyt per 16
//                    channels and their broadcast multiply-adds; the bias gradient sums the
//                    same gyt vectors
//
// y is produced pixel-major a few rows at a time and transposed into place with 16 × 16
// in-register transposes, as gy is transposed into gyt. 16 channels are one Vec16 on AVX-512
// and two Vec8 elsewhere (wide_vectors()), with register blocks sized for each. The input
// gradient is conv_direct_batch.cc's (images in Vec16 lanes) at stride 1 with AVX-512,
// conv_direct.cc's elsewhere, GEMM's at stride 2: with channels in the lanes its reduction
// over k would need a horizontal sum per input pixel.
// Threads split images (forward; blocks of 16 channels when there are fewer images than
// threads) or fixed batch slices (weight gradient, summed in slice order, so results do not
// depend on the thread count).
#include <algorithm>
#include <utility>
#include <vector>

#include "../parallel.h"
#include "internal.h"

// GCC would otherwise carry the inputs of overlapping taps from one tap to the next in
// registers and re-broadcast them, more instructions than broadcasting from memory.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-predictive-commoning")
#endif
namespace kiln::conv {

// Widest kernel row the weight gradient keeps in registers (kMaxRows (c, r) rows of it).
constexpr int64_t kMaxKernelWidth = 7;

bool direct_channels_supported(const Conv2dShape& s) {
  return KILN_HAS_SHUFFLE && s.groups == 1 && (s.stride_w == 1 || s.stride_w == 2) && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.k % 16 == 0 && s.kernel_w <= kMaxKernelWidth;
}

#if KILN_HAS_SHUFFLE
namespace {

// 16 channels are one Vec16 (AVX-512) or two Vec8 (elsewhere, wide_vectors() false): kHalves.
template <typename V>
constexpr int kHalves = 16 / kLanes<V>;

// Pixels of an output row accumulated at once in the forward pass: 14 Vec16 accumulators of 32
// zmm registers, or 6 pixels × 2 Vec8 of 16 ymm; with two blocks of 16 channels (Vec16 only),
// 12 pixels × 2 accumulators.
template <typename V>
constexpr int kMaxPixels = kLanes<V> == 16 ? 14 : 6;
constexpr int kMaxPixelsTwoBlocks = 12;

// Output pixels computed before they are transposed into y (a few 16 × 16 blocks; 8 KiB).
constexpr int64_t kTilePixels = 128;

// (c, r) rows of the kernel whose taps the weight gradient accumulates at once, at most, and
// its accumulator budget: 24 Vec16 or 12 Vec8.
constexpr int kMaxRows = 4;
template <typename V>
constexpr int kWeightAccumulators = kLanes<V> == 16 ? 24 : 12;
// Widest kernel row whose weight gradient takes two blocks of 16 channels per pass: a 3-wide
// kernel's two blocks still keep four rows in 24 accumulators; wider ones would lose rows.
constexpr int kMaxKernelWidthTwoBlocks = 3;

// The weight gradient's batch slices (see the header comment).
constexpr int64_t kWeightSlots = 8;

// dst[j · dst_ld + i] = src[i · src_ld + j] for i < rows, j < cols, where rows or cols is 16:
// whole 16 × 16 blocks along the other side, the last one overlapping the one before it (it
// rewrites the same values), or element by element when that side is shorter than 16.
template <typename V>
__attribute__((always_inline)) inline void transpose(const float* src, int64_t src_ld, int64_t rows, int64_t cols,
                                                     float* dst, int64_t dst_ld) {
  const bool along_rows = cols == 16;  // blocks of 16 rows, else of 16 columns
  const int64_t length = along_rows ? rows : cols;
  if (length < 16) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) dst[j * dst_ld + i] = src[i * src_ld + j];
    }
    return;
  }
  for (int64_t b = 0; b < length; b += 16) {
    const int64_t at = std::min(b, length - 16);
    transpose_block16<V>(src + (along_rows ? at * src_ld : at), src_ld, dst + (along_rows ? at : at * dst_ld), dst_ld);
  }
}

// Where x is read: the image's planes themselves when unpadded, else a zero-padded copy.
struct InputPlanes {
  const float* data;
  int64_t cols, size;  // row stride, plane stride
};

InputPlanes input_planes(const float* x_image, const Conv2dShape& s, int slot) {
  const bool unpadded = s.pad_top == 0 && s.pad_bottom == 0 && s.pad_left == 0 && s.pad_right == 0;
  if (unpadded) return {x_image, s.w, s.h * s.w};
  // Rows and columns the outputs read: (out − 1) · stride + kernel, zeros outside x.
  const PaddedPlane p{(s.out_h - 1) * s.stride_h + s.kernel_h, (s.out_w - 1) * s.stride_w + s.kernel_w, s.pad_top,
                      s.pad_left};
  float* xp = thread_buffer(s.c * p.size(), slot);
  for (int64_t c = 0; c < s.c; ++c) place(x_image + c * s.h * s.w, s.h, s.w, xp + c * p.size(), p);
  return {xp, p.cols, p.size()};
}

// tile[b · tile_step + (ow0 + p) · 16 + :] (p < P, b < B) = bias + Σ over taps of x row · wt:
// output pixels [ow0, ow0 + P) of one row, B blocks of 16 channels; x_row points at (c = 0,
// oh, ow0), wt and bias (or nullptr) at the first of the 16·B channels (wt's taps k floats
// apart). Each tap is B·16 / L vector loads of wt and P broadcasts for P·B·16 / L
// multiply-adds: with two blocks (AVX-512) 14 loads feed 24 multiply-adds instead of 15
// feeding 14, so the loads no longer bound it.
template <typename V, int S, int P, int B>
__attribute__((always_inline)) inline void forward_pixels(const float* x_row, const InputPlanes& in, const float* wt,
                                                          const float* bias, float* tile, int64_t tile_step,
                                                          const Conv2dShape& s) {
  constexpr int L = kLanes<V>, H = kHalves<V> * B;
  V acc[P][H];
  for (int p = 0; p < P; ++p) {
    for (int h = 0; h < H; ++h) acc[p][h] = bias != nullptr ? load_vec<V>(bias + h * L) : V{};
  }
  for (int64_t c = 0; c < s.c; ++c) {
    for (int64_t r = 0; r < s.kernel_h; ++r) {
      const float* row = x_row + c * in.size + r * in.cols;
      for (int64_t q = 0; q < s.kernel_w; ++q, wt += s.k) {
        V w[H];
        for (int h = 0; h < H; ++h) w[h] = load_vec<V>(wt + h * L);
        for (int p = 0; p < P; ++p) {
          for (int h = 0; h < H; ++h) acc[p][h] += row[q + p * S] * w[h];
        }
      }
    }
  }
  for (int p = 0; p < P; ++p) {
    for (int h = 0; h < H; ++h) store_vec(tile + (h * L / 16) * tile_step + p * 16 + h * L % 16, acc[p][h]);
  }
}

// Output rows per tile: enough for 16 × 16 transposes to run whole, few enough for L1; even
// when the epilogue pools (whole windows per tile).
int64_t tile_rows(const Conv2dShape& s, const ConvEpilogue& e) {
  const int64_t rows = (kTilePixels + s.out_w - 1) / s.out_w;
  return e.max_pool_2x2 ? rows + rows % 2 : rows;
}

// Floats of a thread's forward tile: tile_rows × out_w pixels of two blocks of 16 channels.
int64_t tile_floats(const Conv2dShape& s, const ConvEpilogue& e) { return tile_rows(s, e) * s.out_w * 32; }

// The epilogue on a tile of `rows` × out_w pixels of 16 channels: ReLU, then 2×2 max pooling
// in place (window w's pixel lands at tile pixel w, never past a tap still to be read).
template <typename V>
__attribute__((always_inline)) inline void finish_tile(float* tile, int64_t rows, int64_t out_w, const ConvEpilogue& e) {
  constexpr int L = kLanes<V>;
  if (!e.max_pool_2x2) {
    if (!e.relu) return;
    for (int64_t i = 0; i < rows * out_w * 16; i += L) store_vec(tile + i, relu_lanes(load_vec<V>(tile + i)));
    return;
  }
  const int64_t pooled_w = out_w / 2;
  for (int64_t ph = 0; ph < rows / 2; ++ph) {
    for (int64_t pw = 0; pw < pooled_w; ++pw) {
      const float* top = tile + (2 * ph * out_w + 2 * pw) * 16;
      const float* bottom = top + out_w * 16;
      for (int h = 0; h < 16; h += L) {
        V best = load_relu_if<V>(top + h, e.relu);
        best = keep_max_lanes(best, load_relu_if<V>(top + 16 + h, e.relu));
        best = keep_max_lanes(best, load_relu_if<V>(bottom + h, e.relu));
        best = keep_max_lanes(best, load_relu_if<V>(bottom + 16 + h, e.relu));
        store_vec(tile + (ph * pooled_w + pw) * 16 + h, best);
      }
    }
  }
}

// y_k (16·B channels of one image's output, planes y_plane apart) = the 16·B channels at wt
// (and bias) of every output pixel: rows cut into P-pixel pieces (the last one overlapping
// the one before it), computed pixel-major into B tiles (tile_step floats apart) a few rows at
// a time, put through the epilogue e there (pooled planes are a quarter of the size), then
// transposed into y_k.
template <typename V, int S, int P, int B>
__attribute__((always_inline)) inline void forward_plane(const InputPlanes& in, const float* wt, const float* bias,
                                                         float* tile, float* y_k, const Conv2dShape& s,
                                                         const ConvEpilogue& e) {
  const int64_t rows = tile_rows(s, e), tile_step = rows * s.out_w * 16;
  const int64_t pool = e.max_pool_2x2 ? 2 : 1, y_w = s.out_w / pool, y_plane = s.out_h / pool * y_w;
  for (int64_t oh0 = 0; oh0 < s.out_h; oh0 += rows) {
    const int64_t oh1 = std::min(s.out_h, oh0 + rows);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      for (int64_t ow = 0; ow < s.out_w; ow += P) {
        const int64_t ow0 = std::min<int64_t>(ow, s.out_w - P);
        forward_pixels<V, S, P, B>(in.data + oh * s.stride_h * in.cols + ow0 * S, in, wt, bias,
                                   tile + ((oh - oh0) * s.out_w + ow0) * 16, tile_step, s);
      }
    }
    for (int b = 0; b < B; ++b) {
      finish_tile<V>(tile + b * tile_step, oh1 - oh0, s.out_w, e);
      transpose<V>(tile + b * tile_step, 16, (oh1 - oh0) / pool * y_w, 16, y_k + b * 16 * y_plane + oh0 / pool * y_w,
                   y_plane);
    }
  }
}

// Pixels per piece: rows cut into equal pieces of at most max_pixels.
int64_t forward_piece(const Conv2dShape& s, int64_t max_pixels) {
  const int64_t pieces = (s.out_w + max_pixels - 1) / max_pixels;
  return (s.out_w + pieces - 1) / pieces;
}

template <typename V, int S, int B, int... P>
__attribute__((always_inline)) inline void forward_plane_of(int64_t pixels, const InputPlanes& in, const float* wt,
                                                            const float* bias, float* tile, float* y_k,
                                                            const Conv2dShape& s, const ConvEpilogue& e,
                                                            std::integer_sequence<int, P...>) {
  ((pixels == P + 1 ? forward_plane<V, S, P + 1, B>(in, wt, bias, tile, y_k, s, e) : void()), ...);
}

// 16 channels of stride S, or 32 (two blocks) when the vectors are 16 wide and two blocks are left.
template <typename V, int S>
__attribute__((always_inline)) inline int64_t forward_blocks(const InputPlanes& in, const float* wt, const float* bias,
                                                             float* tile, float* y_k, const Conv2dShape& s,
                                                             const ConvEpilogue& e, int64_t channels_left) {
  if (kLanes<V> == 16 && channels_left >= 32) {
    forward_plane_of<V, S, 2>(forward_piece(s, kMaxPixelsTwoBlocks), in, wt, bias, tile, y_k, s, e,
                              std::make_integer_sequence<int, kMaxPixelsTwoBlocks>{});
    return 32;
  }
  forward_plane_of<V, S, 1>(forward_piece(s, kMaxPixels<V>), in, wt, bias, tile, y_k, s, e,
                            std::make_integer_sequence<int, kMaxPixels<V>>{});
  return 16;
}

// Channels [k_begin, k_end) (multiples of 16, or k) of one image's output y_image (k, out_h,
// out_w) after the epilogue e, 16 at a time; tile: scratch for tile_rows(s, e) rows of 16
// channels.
template <typename V>
__attribute__((always_inline)) inline void forward_channels(const InputPlanes& in, const float* wt, const float* bias,
                                                            float* y_image, float* tile, const Conv2dShape& s,
                                                            const ConvEpilogue& e, int64_t k_begin, int64_t k_end) {
  const int64_t y_plane = e.max_pool_2x2 ? s.out_h / 2 * (s.out_w / 2) : s.out_h * s.out_w;
  for (int64_t k0 = k_begin; k0 < k_end;) {
    const float* bias_k0 = bias != nullptr ? bias + k0 : nullptr;
    float* y_k = y_image + k0 * y_plane;
    k0 += s.stride_w == 1 ? forward_blocks<V, 1>(in, wt + k0, bias_k0, tile, y_k, s, e, k_end - k0)
                          : forward_blocks<V, 2>(in, wt + k0, bias_k0, tile, y_k, s, e, k_end - k0);
  }
}

KILN_VECTORIZE void forward_channels_wide(const InputPlanes& in, const float* wt, const float* bias, float* y_image,
                                          float* tile, const Conv2dShape& s, const ConvEpilogue& e, int64_t k_begin,
                                          int64_t k_end) {
  forward_channels<Vec16>(in, wt, bias, y_image, tile, s, e, k_begin, k_end);
}

KILN_VECTORIZE void forward_channels_narrow(const InputPlanes& in, const float* wt, const float* bias,
                                            float* y_image, float* tile, const Conv2dShape& s, const ConvEpilogue& e,
                                            int64_t k_begin, int64_t k_end) {
  forward_channels<Vec8>(in, wt, bias, y_image, tile, s, e, k_begin, k_end);
}

void forward_channels_any(const InputPlanes& in, const float* wt, const float* bias, float* y_image, float* tile,
                          const Conv2dShape& s, const ConvEpilogue& e, int64_t k_begin, int64_t k_end) {
  if (wide_vectors()) {
    forward_channels_wide(in, wt, bias, y_image, tile, s, e, k_begin, k_end);
  } else {
    forward_channels_narrow(in, wt, bias, y_image, tile, s, e, k_begin, k_end);
  }
}

// dst (cols, rows) = srcᵀ, src (rows, cols), in 16 × 16 blocks: walked whole, dst's rows (rows
// floats apart, often a power of two) fold onto a few L1 sets, and a 1×1 stride-2
// convolution's 512 × 256 weight took 0.8 ms to transpose (every store an L1 miss); one
// block's 16 rows stay in L1.
void transpose_blocked(const float* src, int64_t rows, int64_t cols, float* dst) {
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      for (int64_t r = r0; r < std::min(rows, r0 + kBlock); ++r) {
        for (int64_t c = c0; c < std::min(cols, c0 + kBlock); ++c) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
}

// wt[(c · kh + r) · kw + q, k] = weight[k, c, r, q].
std::vector<float> transposed_weight(const float* weight, const Conv2dShape& s) {
  const int64_t taps = s.c * s.kernel_h * s.kernel_w;
  std::vector<float> wt(static_cast<size_t>(taps * s.k));
  transpose_blocked(weight, s.k, taps, wt.data());
  return wt;
}

// The taps of NR kernel rows (c, r) starting at flattened row `first` (row index c · kh + r):
// sums[(row · kw + q) · k + :] (16·B channels at sums) += Σ over the image's output pixels of
// x[c, oh · stride_h + r, ow · S + q] · gyt[oh, ow, :]. gyt points at the 16·B channels,
// pixels k floats apart. Each pixel is B·16 / L vector loads of gyt and NR·KW broadcasts for
// NR·KW·B·16 / L multiply-adds: two blocks (AVX-512) halve the loads per multiply-add.
template <typename V, int S, int KW, int NR, int B>
__attribute__((always_inline)) inline void weight_rows(const InputPlanes& in, int64_t first, const float* gyt,
                                                       float* sums, const Conv2dShape& s) {
  constexpr int L = kLanes<V>, H = kHalves<V> * B;
  V acc[NR][KW][H];
  const float* rows[NR];
  for (int i = 0; i < NR; ++i) {
    const int64_t row = first + i, c = row / s.kernel_h, r = row % s.kernel_h;
    rows[i] = in.data + c * in.size + r * in.cols;
    for (int q = 0; q < KW; ++q) {
      for (int h = 0; h < H; ++h) acc[i][q][h] = load_vec<V>(sums + (row * KW + q) * s.k + h * L);
    }
  }
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    for (int64_t ow = 0; ow < s.out_w; ++ow, gyt += s.k) {
      V g[H];
      for (int h = 0; h < H; ++h) g[h] = load_vec<V>(gyt + h * L);
      for (int i = 0; i < NR; ++i) {
        for (int q = 0; q < KW; ++q) {
          for (int h = 0; h < H; ++h) acc[i][q][h] += rows[i][ow * S + q] * g[h];
        }
      }
    }
    for (int i = 0; i < NR; ++i) rows[i] += s.stride_h * in.cols;
  }
  for (int i = 0; i < NR; ++i) {
    for (int q = 0; q < KW; ++q) {
      for (int h = 0; h < H; ++h) store_vec(sums + ((first + i) * KW + q) * s.k + h * L, acc[i][q][h]);
    }
  }
}

// Every kernel row in blocks of up to NR (NR · KW · kHalves · B accumulators within the
// budget; fewer rows for wide kernels), for B blocks of 16 channels.
template <typename V, int S, int KW, int B>
__attribute__((always_inline)) inline void weight_taps(const InputPlanes& in, const float* gyt, float* sums,
                                                       const Conv2dShape& s) {
  constexpr int fit = kWeightAccumulators<V> / (KW * kHalves<V> * B);
  constexpr int NR = fit >= kMaxRows ? kMaxRows : fit >= 1 ? fit : 1;
  const int64_t rows = s.c * s.kernel_h;
  int64_t first = 0;
  for (; first + NR <= rows; first += NR) weight_rows<V, S, KW, NR, B>(in, first, gyt, sums, s);
  for (; first < rows; ++first) weight_rows<V, S, KW, 1, B>(in, first, gyt, sums, s);
}

template <typename V, int S, int B, int... KW>
__attribute__((always_inline)) inline void weight_taps_of(const InputPlanes& in, const float* gyt, float* sums,
                                                          const Conv2dShape& s, std::integer_sequence<int, KW...>) {
  ((s.kernel_w == KW + 1 ? weight_taps<V, S, KW + 1, B>(in, gyt, sums, s) : void()), ...);
}

// The taps of 16 channels at stride S, or 32 (two blocks) when the vectors are 16 wide, two
// blocks are left and the kernel is at most kMaxKernelWidthTwoBlocks wide. Returns the
// channels done.
template <typename V, int S>
__attribute__((always_inline)) inline int64_t weight_blocks(const InputPlanes& in, const float* gyt, float* sums,
                                                            const Conv2dShape& s, int64_t channels_left) {
  if (kLanes<V> == 16 && channels_left >= 32 && s.kernel_w <= kMaxKernelWidthTwoBlocks) {
    weight_taps_of<V, S, 2>(in, gyt, sums, s, std::make_integer_sequence<int, kMaxKernelWidthTwoBlocks>{});
    return 32;
  }
  weight_taps_of<V, S, 1>(in, gyt, sums, s, std::make_integer_sequence<int, kMaxKernelWidth>{});
  return 16;
}

// sums (c·kh·kw + 1, k) += one image's weight gradient and, in the last row, its bias
// gradient; gyt: scratch for its transposed gy.
template <typename V>
__attribute__((always_inline)) inline void weight_image(const InputPlanes& in, const float* gy_image, float* gyt,
                                                        float* sums, const Conv2dShape& s) {
  constexpr int L = kLanes<V>;
  const int64_t plane = s.out_h * s.out_w, taps = s.c * s.kernel_h * s.kernel_w;
  for (int64_t k0 = 0; k0 < s.k; k0 += 16) transpose<V>(gy_image + k0 * plane, plane, 16, plane, gyt + k0, s.k);
  for (int64_t k0 = 0; k0 < s.k; k0 += L) {
    V bias = load_vec<V>(sums + taps * s.k + k0);
    for (int64_t pixel = 0; pixel < plane; ++pixel) bias += load_vec<V>(gyt + pixel * s.k + k0);
    store_vec(sums + taps * s.k + k0, bias);
  }
  for (int64_t k0 = 0; k0 < s.k;) {
    k0 += s.stride_w == 1 ? weight_blocks<V, 1>(in, gyt + k0, sums + k0, s, s.k - k0)
                          : weight_blocks<V, 2>(in, gyt + k0, sums + k0, s, s.k - k0);
  }
}

KILN_VECTORIZE void weight_image_wide(const InputPlanes& in, const float* gy_image, float* gyt, float* sums,
                                      const Conv2dShape& s) {
  weight_image<Vec16>(in, gy_image, gyt, sums, s);
}

KILN_VECTORIZE void weight_image_narrow(const InputPlanes& in, const float* gy_image, float* gyt, float* sums,
                                        const Conv2dShape& s) {
  weight_image<Vec8>(in, gy_image, gyt, sums, s);
}

}  // namespace

void direct_channels_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                             const ConvEpilogue& e) {
  const std::vector<float> wt = transposed_weight(weight, s);
  const int64_t plane = s.out_h * s.out_w;
  const int64_t y_image = s.k * (e.max_pool_2x2 ? plane / 4 : plane);
  const int64_t taps = s.c * s.kernel_h * s.kernel_w;
  if (s.n < get_num_threads()) {
    // Fewer images than threads (a stem at batch 1): the threads share each image's blocks of
    // 16 channels (pairs of them with 16-float vectors, which forward_pixels takes two at a
    // time), reading one padded copy of it.
    const int64_t block = wide_vectors() && s.k % 32 == 0 ? 32 : 16;
    for (int64_t n = 0; n < s.n; ++n) {
      const InputPlanes in = input_planes(x + n * s.c * s.h * s.w, s, 0);
      parallel_for_balanced(0, s.k / block, grain_for(block * taps * plane), [&](int64_t begin, int64_t end) {
        float* tile = thread_buffer(tile_floats(s, e), 1);
        forward_channels_any(in, wt.data(), bias, y + n * y_image, tile, s, e, begin * block, end * block);
      });
    }
    return;
  }
  parallel_for_balanced(0, s.n, grain_for(s.k * taps * plane), [&](int64_t begin, int64_t end) {
    float* tile = thread_buffer(tile_floats(s, e), 1);
    for (int64_t n = begin; n < end; ++n) {
      const InputPlanes in = input_planes(x + n * s.c * s.h * s.w, s, 0);
      forward_channels_any(in, wt.data(), bias, y + n * y_image, tile, s, e, 0, s.k);
    }
  });
}

void direct_channels_backward_weight(const float* x, const float* gy, float* gweight, float* gbias,
                                     const Conv2dShape& s) {
  const int64_t taps = s.c * s.kernel_h * s.kernel_w, plane = s.out_h * s.out_w, rows = taps + 1;
  const int64_t slots = std::max<int64_t>(1, std::min(s.n, kWeightSlots));
  std::vector<float> sums(static_cast<size_t>(slots * rows * s.k), 0.0f);  // (slot, tap or bias, k)
  const bool wide = wide_vectors();
  parallel_for_balanced(0, slots, 1, [&](int64_t slot_begin, int64_t slot_end) {
    float* gyt = thread_buffer(plane * s.k, 1);
    for (int64_t slot = slot_begin; slot < slot_end; ++slot) {
      for (int64_t n = slot * s.n / slots; n < (slot + 1) * s.n / slots; ++n) {
        const InputPlanes in = input_planes(x + n * s.c * s.h * s.w, s, 0);
        float* slot_sums = sums.data() + slot * rows * s.k;
        if (wide) {
          weight_image_wide(in, gy + n * s.k * plane, gyt, slot_sums, s);
        } else {
          weight_image_narrow(in, gy + n * s.k * plane, gyt, slot_sums, s);
        }
      }
    }
  });
  for (int64_t slot = 1; slot < slots; ++slot) {
    const float* from = sums.data() + slot * rows * s.k;
    for (int64_t i = 0; i < rows * s.k; ++i) sums[i] += from[i];
  }
  transpose_blocked(sums.data(), taps, s.k, gweight);  // gweight (k, taps) = the tap rows of sums transposed
  if (gbias != nullptr) std::copy(sums.begin() + taps * s.k, sums.begin() + rows * s.k, gbias);
}

#endif
}  // namespace kiln::conv
