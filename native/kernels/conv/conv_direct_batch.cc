// The input gradient of the direct algorithms with 16 images in the vector lanes, for
// kDirectChannels shapes (few input channels, stride 1). Pixel lanes (conv_direct.cc) multiply
// whole 16-pixel pieces by every kernel column, though at a row's ends most of those products
// read zero padding (LeNet-2: half of them); channel lanes would need a horizontal sum per
// input pixel. With images in the lanes every lane of a product is the same pixel, so each
// pixel takes exactly the taps that reach gy:
//
//   gx[n, c, ih, iw] = Σ over k and the taps (r, q) with (ih + pad_top − r, iw + pad_left − q)
//                      inside gy of gy[n, k, ih + pad_top − r, iw + pad_left − q] · w[k, c, r, q]
//
// A group of 16 images is transposed into gyb (k, out_h, zero-padded columns, 16 images); a
// block of P pixels of an input row × CB channels accumulates in registers, each tap one vector
// load per pixel and one broadcast weight per channel; gxb (c, h, w, 16 images) is then
// transposed back into gx. Images past the last whole group take conv_direct.cc's kernel.
// Threads split groups.
#include <algorithm>
#include <utility>
#include <vector>

#include "../parallel.h"
#include "internal.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-predictive-commoning")  // keep broadcasts as memory operands
#endif
namespace kiln::conv {

bool direct_batch_supported(const Conv2dShape& s) {
  return KILN_HAS_SHUFFLE && s.groups == 1 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1;
}

#if KILN_HAS_SHUFFLE
namespace {

constexpr int64_t kGroup = 16;  // images per group: one per lane

// Channels per block, at most: CB · P accumulators (see pixels_per_block).
constexpr int kMaxChannels = 8;

// Pixels per block for CB channels: about 12 accumulators, at least 2 pixels.
constexpr int pixels_per_block(int cb) { return cb >= 6 ? 2 : 12 / cb; }

// Sizes of one group's buffers.
struct Layout {
  int64_t cb, c_blocks, c_padded;  // channels per block, blocks, cb · c_blocks
  int64_t pixels;                  // P: pixels per block
  int64_t gy_cols;                 // gyb row: kw − 1 zero columns, out_w, kw − 1 zero columns
  int64_t gx_cols;                 // gxb row: w rounded up to a multiple of P

  // Where pixel j of a gy plane / gx plane lands in a gyb / gxb plane (in floats).
  std::vector<int64_t> gy_slot, gx_slot;

  explicit Layout(const Conv2dShape& s) {
    c_blocks = (s.c + kMaxChannels - 1) / kMaxChannels;
    cb = (s.c + c_blocks - 1) / c_blocks;
    c_padded = cb * c_blocks;
    pixels = pixels_per_block(static_cast<int>(cb));
    gy_cols = s.out_w + 2 * (s.kernel_w - 1);
    gx_cols = (s.w + pixels - 1) / pixels * pixels;
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      for (int64_t ow = 0; ow < s.out_w; ++ow) gy_slot.push_back((oh * gy_cols + s.kernel_w - 1 + ow) * kGroup);
    }
    for (int64_t ih = 0; ih < s.h; ++ih) {
      for (int64_t iw = 0; iw < s.w; ++iw) gx_slot.push_back((ih * gx_cols + iw) * kGroup);
    }
  }
  // Floats of gyb, with slack for the blocks' reads past the last row (pixels past w).
  int64_t gy_floats(const Conv2dShape& s) const { return (s.k * s.out_h * gy_cols + pixels) * kGroup; }
  int64_t gx_floats(const Conv2dShape& s) const { return c_padded * s.h * gx_cols * kGroup; }
};

// 16 elements of 16 images (image i's at planes + i · image, contiguous) into 16 vectors
// (element j's at vectors + offset(j), lane i = image i), and back.
template <typename Offset>
__attribute__((always_inline)) inline void gather16(const float* planes, int64_t image, float* vectors,
                                                    const Offset& offset) {
  Vec16 v[16];
  for (int i = 0; i < 16; ++i) v[i] = load16(planes + i * image);
  transpose16(v);
  for (int j = 0; j < 16; ++j) store16(vectors + offset(j), v[j]);
}

template <typename Offset>
__attribute__((always_inline)) inline void scatter16(const float* vectors, const Offset& offset, float* planes,
                                                     int64_t image) {
  Vec16 v[16];
  for (int j = 0; j < 16; ++j) v[j] = load16(vectors + offset(j));
  transpose16(v);
  for (int i = 0; i < 16; ++i) store16(planes + i * image, v[i]);
}

// gyb (k, out_h, gy_cols, 16) = gy of images [n0, n0 + 16), zeros in the padding columns.
KILN_VECTORIZE void gather_output_gradient(const float* gy, int64_t n0, float* gyb, const Layout& l,
                                           const Conv2dShape& s) {
  const int64_t plane = s.out_h * s.out_w, image = s.k * plane;
  const int64_t* slot = l.gy_slot.data();
  std::fill(gyb, gyb + l.gy_floats(s), 0.0f);
  for (int64_t kk = 0; kk < s.k; ++kk) {
    float* rows = gyb + kk * s.out_h * l.gy_cols * kGroup;
    const float* planes = gy + n0 * image + kk * plane;
    if (plane < 16) {
      for (int64_t i = 0; i < kGroup; ++i) {
        for (int64_t j = 0; j < plane; ++j) rows[slot[j] + i] = planes[i * image + j];
      }
      continue;
    }
    for (int64_t j0 = 0; j0 < plane; j0 += 16) {
      const int64_t at = std::min(j0, plane - 16);  // the last run overlaps the one before it
      gather16(planes + at, image, rows, [&](int j) { return slot[at + j]; });
    }
  }
}

// gx of images [n0, n0 + 16) = the first c channels and w columns of gxb.
KILN_VECTORIZE void scatter_input_gradient(const float* gxb, float* gx, int64_t n0, const Layout& l,
                                           const Conv2dShape& s) {
  const int64_t plane = s.h * s.w, image = s.c * plane;
  const int64_t* slot = l.gx_slot.data();
  for (int64_t c = 0; c < s.c; ++c) {
    const float* rows = gxb + c * s.h * l.gx_cols * kGroup;
    float* planes = gx + n0 * image + c * plane;
    if (plane < 16) {
      for (int64_t i = 0; i < kGroup; ++i) {
        for (int64_t j = 0; j < plane; ++j) planes[i * image + j] = rows[slot[j] + i];
      }
      continue;
    }
    for (int64_t j0 = 0; j0 < plane; j0 += 16) {
      const int64_t at = std::min(j0, plane - 16);
      scatter16(rows, [&](int j) { return slot[at + j]; }, planes + at, image);
    }
  }
}

// gxb[c0 + b, ih, iw0 + p, :] (b < CB, p < P) = Σ over k and the taps reaching gy of
// gyb · wb, with wb (k, kh, kw, c_padded): the weight with the channels innermost.
template <int CB, int P>
__attribute__((always_inline)) inline void input_block(const float* gyb, const float* wb, float* gxb, int64_t c0,
                                                       int64_t ih, int64_t iw0, const Layout& l, const Conv2dShape& s) {
  // Kernel rows with ih + pad_top − r in [0, out_h); columns with iw + pad_left − q in
  // [0, out_w) for some pixel iw of the block (the others read zero padding).
  const int64_t r_begin = std::max<int64_t>(0, ih + s.pad_top - s.out_h + 1);
  const int64_t r_end = std::min<int64_t>(s.kernel_h, ih + s.pad_top + 1);
  const int64_t q_begin = std::max<int64_t>(0, iw0 + s.pad_left - s.out_w + 1);
  const int64_t q_end = std::min<int64_t>(s.kernel_w, iw0 + P + s.pad_left);
  Vec16 acc[CB][P] = {};
  for (int64_t kk = 0; kk < s.k; ++kk) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const int64_t oh = ih + s.pad_top - r;
      // gyb column of pixel iw0 + p at tap q: kw − 1 + iw0 + p + pad_left − q.
      const float* row = gyb + ((kk * s.out_h + oh) * l.gy_cols + s.kernel_w - 1 + iw0 + s.pad_left) * kGroup;
      const float* w = wb + (kk * s.kernel_h + r) * s.kernel_w * l.c_padded + c0;
      for (int64_t q = q_begin; q < q_end; ++q) {
        const float* g = row - q * kGroup;
        const float* wq = w + q * l.c_padded;
        for (int p = 0; p < P; ++p) {
          const Vec16 v = load16(g + p * kGroup);
          for (int b = 0; b < CB; ++b) acc[b][p] += wq[b] * v;
        }
      }
    }
  }
  for (int b = 0; b < CB; ++b) {
    float* out = gxb + (((c0 + b) * s.h + ih) * l.gx_cols + iw0) * kGroup;
    for (int p = 0; p < P; ++p) store16(out + p * kGroup, acc[b][p]);
  }
}

template <int CB>
__attribute__((always_inline)) inline void input_blocks(const float* gyb, const float* wb, float* gxb, const Layout& l,
                                                        const Conv2dShape& s) {
  constexpr int P = pixels_per_block(CB);
  for (int64_t c0 = 0; c0 < l.c_padded; c0 += CB) {
    for (int64_t ih = 0; ih < s.h; ++ih) {
      for (int64_t iw0 = 0; iw0 < s.w; iw0 += P) input_block<CB, P>(gyb, wb, gxb, c0, ih, iw0, l, s);
    }
  }
}

template <int... CB>
__attribute__((always_inline)) inline void input_blocks_of(const float* gyb, const float* wb, float* gxb,
                                                           const Layout& l, const Conv2dShape& s,
                                                           std::integer_sequence<int, CB...>) {
  ((l.cb == CB + 1 ? input_blocks<CB + 1>(gyb, wb, gxb, l, s) : void()), ...);
}

// gx of the 16 images [n0, n0 + 16); gyb and gxb: scratch.
KILN_VECTORIZE void input_group(const float* gy, const float* wb, float* gx, int64_t n0, float* gyb, float* gxb,
                                const Layout& l, const Conv2dShape& s) {
  gather_output_gradient(gy, n0, gyb, l, s);
  input_blocks_of(gyb, wb, gxb, l, s, std::make_integer_sequence<int, kMaxChannels>{});
  scatter_input_gradient(gxb, gx, n0, l, s);
}

// wb[((k · kh + r) · kw + q) · c_padded + c] = weight[k, c, r, q], zeros for c >= s.c.
std::vector<float> channels_innermost(const float* weight, const Layout& l, const Conv2dShape& s) {
  const int64_t taps = s.kernel_h * s.kernel_w;
  std::vector<float> wb(static_cast<size_t>(s.k * taps * l.c_padded), 0.0f);
  for (int64_t kk = 0; kk < s.k; ++kk) {
    for (int64_t c = 0; c < s.c; ++c) {
      for (int64_t t = 0; t < taps; ++t) wb[(kk * taps + t) * l.c_padded + c] = weight[(kk * s.c + c) * taps + t];
    }
  }
  return wb;
}

}  // namespace

void direct_batch_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  const int64_t groups = s.n / kGroup;
  if (groups > 0) {
    const Layout l(s);
    const std::vector<float> wb = channels_innermost(weight, l, s);
    parallel_for_balanced(0, groups, 1, [&](int64_t begin, int64_t end) {
      float* gyb = thread_buffer(l.gy_floats(s), 0);
      float* gxb = thread_buffer(l.gx_floats(s), 1);
      for (int64_t group = begin; group < end; ++group) input_group(gy, wb.data(), gx, group * kGroup, gyb, gxb, l, s);
    });
  }
  // The images past the last whole group: pixels in the lanes.
  Conv2dShape rest = s;
  rest.n = s.n - groups * kGroup;
  if (rest.n > 0) {
    const int64_t done = groups * kGroup;
    direct_backward_input(gy + done * s.k * s.out_h * s.out_w, weight, gx + done * s.c * s.h * s.w, rest);
  }
}

#else
void direct_batch_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  direct_backward_input(gy, weight, gx, s);
}
#endif

}  // namespace kiln::conv
