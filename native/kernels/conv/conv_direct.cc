// Direct convolution for few input channels (LeNet's layers, RGB stems), stride 1: no im2col,
// whose copies would cost more than the arithmetic here. Input planes are copied zero-padded
// (PaddedPlane), then vector-wide chunks of a few output rows are accumulated in registers for
// a block of output channels at once: per tap, one vector load of input pixels per row and one
// broadcast weight per output channel, used for every row. The register blocks follow the
// vector width that runs (wide_vectors()): Vec16 on AVX-512 (32 registers) keeps up to 8
// channels × 2 rows; Vec8 on AVX2 (16 registers) up to 12 accumulators, e.g. 6 channels × 2
// rows or 1 channel × 12 rows.
//
//   forward          y  = correlate(x padded, W transposed to (c·kh·kw, k))
//   backward input   gx = correlate(gy padded, W flipped and transposed to (k·kh·kw, c))
//   backward weight  gW[k, c, r, q] = Σ gy[n, k, oh, :] · x[n, c, oh + r·dh, shifted], in
//                    per-lane sums kept across images, one tap row (c, r, q) per task
//
// Threads split images (forward, input gradient) or tap rows (weight gradient).
#include <algorithm>
#include <utility>
#include <vector>

#include "../parallel.h"
#include "internal.h"

namespace kiln::conv {

bool direct_supported(const Conv2dShape& s) {
  return KILN_HAS_VEC16 && s.groups == 1 && s.stride_h == 1 && s.stride_w == 1;
}

#if KILN_HAS_VEC16
namespace {

// Sizes of one correlation: `in_channels` padded planes in (the source's in_h rows placed at
// row in.top, zeros above and below), `out_channels` planes of out_h × out_w out, through a
// (kernel_h, kernel_w) filter dilated by the shape's dilation.
struct Correlation {
  int64_t in_channels, out_channels;
  PaddedPlane in;
  int64_t in_h;
  int64_t out_h, out_w;
};

// The kernel rows [begin, end) that reach a source row from some output row in [oh, oh + rows):
// the others only read zero padding (at the input gradient's edges, most of the rows).
struct KernelRows {
  int64_t begin, end;
};
KernelRows kernel_rows(int64_t oh, int64_t rows, const Correlation& c, const Conv2dShape& s) {
  const int64_t first = c.in.top - (oh + rows - 1);  // kernel row offsets r · dilation in [first, last]
  const int64_t last = c.in.top + c.in_h - 1 - oh;
  if (last < 0) return {0, 0};
  const int64_t begin = first <= 0 ? 0 : (first + s.dilation_h - 1) / s.dilation_h;
  const int64_t end = std::min(s.kernel_h, last / s.dilation_h + 1);
  return {std::min(begin, end), end};
}

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// Output rows [oh, oh + ROWS) and channels [o0, o0 + count) (count <= KB) of one image, in
// chunks of V's lanes: out = init + Σ wt · in, with wt: (in_channels · kernel_h · kernel_w, ld)
// holding output channel o in column o. Each tap's weights are broadcast once for ROWS input
// vectors.
template <typename V, int KB, int ROWS>
__attribute__((always_inline)) inline void correlate_rows(const float* in, const float* wt, int64_t ld, const float* init,
                                                         float* out, int64_t o0, int64_t count, int64_t oh,
                                                         const Correlation& c, const Conv2dShape& s) {
  constexpr int W = kLanes<V>;
  const int64_t plane = c.out_h * c.out_w;
  for (int64_t chunk = 0; chunk < c.out_w; chunk += W) {
    // Rows of at least W end with a chunk overlapping the one before it: whole-vector stores.
    const int64_t ow0 = c.out_w >= W ? std::min<int64_t>(chunk, c.out_w - W) : chunk;
    V acc[ROWS][KB];
    for (int b = 0; b < KB; ++b) {
      for (int y = 0; y < ROWS; ++y) acc[y][b] = V{} + (init != nullptr && b < count ? init[o0 + b] : 0.0f);
    }
    const KernelRows rows = kernel_rows(oh, ROWS, c, s);
    for (int64_t i = 0; i < c.in_channels; ++i) {
      for (int64_t r = rows.begin; r < rows.end; ++r) {
        const float* in_row = in + i * c.in.size() + (oh + r * s.dilation_h) * c.in.cols + ow0;
        const float* w_row = wt + ((i * s.kernel_h + r) * s.kernel_w) * ld + o0;
        for (int64_t q = 0; q < s.kernel_w; ++q, w_row += ld) {
          V v[ROWS];
          for (int y = 0; y < ROWS; ++y) v[y] = load_vec<V>(in_row + y * c.in.cols + q * s.dilation_w);
          for (int b = 0; b < KB; ++b) {
            const float weight = w_row[b];
            for (int y = 0; y < ROWS; ++y) acc[y][b] += weight * v[y];
          }
        }
      }
    }
    const int64_t lanes = std::min<int64_t>(W, c.out_w - ow0);
    for (int y = 0; y < ROWS; ++y) {
      for (int b = 0; b < KB && b < count; ++b) {
        float* out_row = out + (o0 + b) * plane + (oh + y) * c.out_w + ow0;
        if (lanes == W) {
          store_vec(out_row, acc[y][b]);
        } else {
          for (int64_t l = 0; l < lanes; ++l) out_row[l] = acc[y][b][l];
        }
      }
    }
  }
}

// Output rows [oh, out_h) of channels [o0, o0 + count), ROWS at a time, then the rest in
// blocks of ROWS / 2, ROWS / 4, ... rows.
template <typename V, int KB, int ROWS>
__attribute__((always_inline)) inline void correlate_rows_from(int64_t oh, const float* in, const float* wt, int64_t ld,
                                                               const float* init, float* out, int64_t o0, int64_t count,
                                                               const Correlation& c, const Conv2dShape& s) {
  for (; oh + ROWS <= c.out_h; oh += ROWS) correlate_rows<V, KB, ROWS>(in, wt, ld, init, out, o0, count, oh, c, s);
  if constexpr (ROWS > 1) correlate_rows_from<V, KB, ROWS / 2>(oh, in, wt, ld, init, out, o0, count, c, s);
}

// Largest output-channel block: Vec16 keeps 8 × 2 rows of accumulators in 32 zmm registers,
// Vec8 at most 12 (6 × 2 rows) in 16 ymm, beside the broadcast weight.
template <typename V>
constexpr int kMaxBlock = kLanes<V> == 16 ? 8 : 6;

// Rows a block of KB channels computes at once: 2 for Vec16; for Vec8, 12 accumulators where
// KB allows (fewer would wait on their own multiply-add latency).
template <typename V>
constexpr int rows_at_once(int kb) {
  return kLanes<V> == 16 || kb > 4 ? 2 : 12 / kb;
}

// Block width of the weight gradient for k: 1, 4 or 8 accumulators per tap row.
int block_width(int64_t out_channels) { return out_channels == 1 ? 1 : out_channels <= 4 ? 4 : 8; }

// Block width of a correlation. Wide vectors: out_channels in equal blocks of at most 8 (6
// channels take one block of 6, not 8 with 2 idle), at least 4. Narrow: the width in [4, 6]
// (or out_channels, if fewer) that leaves the fewest idle accumulators, the widest on ties.
int correlation_block(int64_t out_channels, bool wide) {
  if (wide) {
    const int64_t blocks = (out_channels + 7) / 8;
    return std::max(4, static_cast<int>((out_channels + blocks - 1) / blocks));
  }
  if (out_channels < 4) return static_cast<int>(out_channels);
  int best = 4;
  for (int kb = 5; kb <= kMaxBlock<Vec8>; ++kb) {
    if ((out_channels + kb - 1) / kb * kb <= (out_channels + best - 1) / best * best) best = kb;
  }
  return best;
}

template <typename V, int... KB>
__attribute__((always_inline)) inline void correlate_block_of(int kb, const float* in, const float* wt, int64_t ld,
                                                              const float* init, float* out, int64_t o0, int64_t count,
                                                              const Correlation& c, const Conv2dShape& s,
                                                              std::integer_sequence<int, KB...>) {
  ((kb == KB + 1 ? correlate_rows_from<V, KB + 1, rows_at_once<V>(KB + 1)>(0, in, wt, ld, init, out, o0, count, c, s)
                 : void()),
   ...);
}

// Every output channel of one image, in blocks of kb (wt's ld is a multiple of kb).
template <typename V>
__attribute__((always_inline)) inline void correlate_image(int kb, const float* in, const float* wt, int64_t ld,
                                                           const float* init, float* out, const Correlation& c,
                                                           const Conv2dShape& s) {
  for (int64_t o0 = 0; o0 < c.out_channels; o0 += kb) {
    const int64_t count = std::min<int64_t>(kb, c.out_channels - o0);
    correlate_block_of<V>(kb, in, wt, ld, init, out, o0, count, c, s, std::make_integer_sequence<int, kMaxBlock<V>>{});
  }
}

KILN_VECTORIZE void correlate_wide(int kb, const float* in, const float* wt, int64_t ld, const float* init, float* out,
                                   const Correlation& c, const Conv2dShape& s) {
  correlate_image<Vec16>(kb, in, wt, ld, init, out, c, s);
}

KILN_VECTORIZE void correlate_narrow(int kb, const float* in, const float* wt, int64_t ld, const float* init,
                                     float* out, const Correlation& c, const Conv2dShape& s) {
  correlate_image<Vec8>(kb, in, wt, ld, init, out, c, s);
}

// out = init + the correlation of every output channel, with the vectors that run here.
void correlate(bool wide, int kb, const float* in, const float* wt, int64_t ld, const float* init, float* out,
               const Correlation& c, const Conv2dShape& s) {
  if (wide) {
    correlate_wide(kb, in, wt, ld, init, out, c, s);
  } else {
    correlate_narrow(kb, in, wt, ld, init, out, c, s);
  }
}

// wt[(i · kh + r) · kw + q, o] (row stride ld, zero-padded columns) for the forward pass
// (i = c, o = k: weight[k, c, r, q]) or the input gradient (i = k, o = c, flipped filter).
std::vector<float> transposed_weight(const float* weight, const Conv2dShape& s, bool for_input_gradient, int64_t ld) {
  const int64_t taps = s.kernel_h * s.kernel_w;
  const int64_t in_channels = for_input_gradient ? s.k : s.c;
  std::vector<float> wt(static_cast<size_t>(in_channels * taps * ld), 0.0f);
  for (int64_t kk = 0; kk < s.k; ++kk) {
    for (int64_t c = 0; c < s.c; ++c) {
      for (int64_t t = 0; t < taps; ++t) {
        const float value = weight[(kk * s.c + c) * taps + t];
        if (for_input_gradient) {
          wt[(kk * taps + taps - 1 - t) * ld + c] = value;
        } else {
          wt[(c * taps + t) * ld + kk] = value;
        }
      }
    }
  }
  return wt;
}

// The `channels` planes of src (each src_h × src_w) copied into dst, padded as p.
void place_planes(const float* src, int64_t channels, int64_t src_h, int64_t src_w, float* dst, const PaddedPlane& p) {
  for (int64_t i = 0; i < channels; ++i) place(src + i * src_h * src_w, src_h, src_w, dst + i * p.size(), p);
}

int64_t image_grain(const Conv2dShape& s) { return grain_for(s.k * s.c * s.kernel_h * s.kernel_w * s.out_h * s.out_w); }

// lanes[t, k] += Σ over rows and chunks of gy[k] · the tap row t = (c, r, q) of x, for tap rows
// [t0, t1) of one image, in V's lanes; xp: the image's padded x planes, gyp: its gy planes
// padded to (out_h, 16-multiple columns) with zero planes up to a multiple of the block width.
template <typename V, int KB>
__attribute__((always_inline)) inline void weight_lanes_block(const float* xp, const PaddedPlane& xpad, const float* gyp,
                                                             const PaddedPlane& gpad, float* lanes, int64_t k_padded,
                                                             int64_t t0, int64_t t1, int64_t k0, const Conv2dShape& s) {
  constexpr int W = kLanes<V>;
  const int64_t taps = s.kernel_h * s.kernel_w;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t c = t / taps, r = t % taps / s.kernel_w, q = t % s.kernel_w;
    V acc[KB];
    for (int b = 0; b < KB; ++b) acc[b] = load_vec<V>(lanes + ((t - t0) * k_padded + k0 + b) * W);
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const float* x_row = xp + c * xpad.size() + (oh + r * s.dilation_h) * xpad.cols + q * s.dilation_w;
      const float* g_row = gyp + k0 * gpad.size() + oh * gpad.cols;
      for (int64_t ow0 = 0; ow0 < s.out_w; ow0 += W) {
        const V v = keep_first(load_vec<V>(x_row + ow0), s.out_w - ow0);  // past the row: no 0 · Inf
        for (int b = 0; b < KB; ++b) acc[b] += load_vec<V>(g_row + b * gpad.size() + ow0) * v;
      }
    }
    for (int b = 0; b < KB; ++b) store_vec(lanes + ((t - t0) * k_padded + k0 + b) * W, acc[b]);
  }
}

template <typename V>
__attribute__((always_inline)) inline void weight_lanes_image(const float* xp, const PaddedPlane& xpad,
                                                              const float* gyp, const PaddedPlane& gpad, float* lanes,
                                                              int64_t k_padded, int64_t t0, int64_t t1,
                                                              const Conv2dShape& s) {
  const int kb = block_width(s.k);
  for (int64_t k0 = 0; k0 < s.k; k0 += kb) {
    if (kb == 1) {
      weight_lanes_block<V, 1>(xp, xpad, gyp, gpad, lanes, k_padded, t0, t1, k0, s);
    } else if (kb == 4) {
      weight_lanes_block<V, 4>(xp, xpad, gyp, gpad, lanes, k_padded, t0, t1, k0, s);
    } else {
      weight_lanes_block<V, 8>(xp, xpad, gyp, gpad, lanes, k_padded, t0, t1, k0, s);
    }
  }
}

KILN_VECTORIZE void weight_lanes_wide(const float* xp, const PaddedPlane& xpad, const float* gyp,
                                      const PaddedPlane& gpad, float* lanes, int64_t k_padded, int64_t t0, int64_t t1,
                                      const Conv2dShape& s) {
  weight_lanes_image<Vec16>(xp, xpad, gyp, gpad, lanes, k_padded, t0, t1, s);
}

KILN_VECTORIZE void weight_lanes_narrow(const float* xp, const PaddedPlane& xpad, const float* gyp,
                                        const PaddedPlane& gpad, float* lanes, int64_t k_padded, int64_t t0,
                                        int64_t t1, const Conv2dShape& s) {
  weight_lanes_image<Vec8>(xp, xpad, gyp, gpad, lanes, k_padded, t0, t1, s);
}

// gweight[k, t] for tap rows [t0, t1): the sums of their lanes, (t − t0, k_padded, W).
template <typename V>
void sum_weight_lanes(const float* lanes, float* gweight, int64_t k_padded, int64_t t0, int64_t t1,
                      const Conv2dShape& s) {
  const int64_t rows = s.c * s.kernel_h * s.kernel_w;
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t kk = 0; kk < s.k; ++kk) {
      gweight[kk * rows + t] = sum_lanes(load_vec<V>(lanes + ((t - t0) * k_padded + kk) * kLanes<V>));
    }
  }
}

}  // namespace

void direct_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s,
                    const ConvEpilogue& e) {
  const bool wide = wide_vectors();
  const int kb = correlation_block(s.k, wide);
  const int64_t ld = round_up(s.k, kb);
  const std::vector<float> wt = transposed_weight(weight, s, false, ld);
  const Correlation c{s.c, s.k, input_padding(s), s.h, s.out_h, s.out_w};
  parallel_for_balanced(0, s.n, image_grain(s), [&](int64_t begin, int64_t end) {
    float* xp = thread_buffer(s.c * c.in.size(), 0);
    for (int64_t n = begin; n < end; ++n) {
      place_planes(x + n * s.c * s.h * s.w, s.c, s.h, s.w, xp, c.in);
      float* image = image_output(y, n, s, e);
      correlate(wide, kb, xp, wt.data(), ld, bias, image, c, s);
      finish_image(image, y, n, s, e);
    }
  });
}

void direct_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  const bool wide = wide_vectors();
  const int kb = correlation_block(s.c, wide);
  const int64_t ld = round_up(s.c, kb);
  const std::vector<float> wt = transposed_weight(weight, s, true, ld);
  const Correlation c{s.k, s.c, output_gradient_padding(s), s.out_h, s.h, s.w};
  parallel_for_balanced(0, s.n, image_grain(s), [&](int64_t begin, int64_t end) {
    float* gyp = thread_buffer(s.k * c.in.size(), 0);
    for (int64_t n = begin; n < end; ++n) {
      place_planes(gy + n * s.k * s.out_h * s.out_w, s.k, s.out_h, s.out_w, gyp, c.in);
      correlate(wide, kb, gyp, wt.data(), ld, nullptr, gx + n * s.c * s.h * s.w, c, s);
    }
  });
}

void direct_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s) {
  const bool wide = wide_vectors();
  const int64_t lanes_per_sum = wide ? kLanes<Vec16> : kLanes<Vec8>;
  const int64_t taps = s.kernel_h * s.kernel_w, rows = s.c * taps;
  const int64_t k_padded = round_up(s.k, block_width(s.k));
  const PaddedPlane xpad = input_padding(s);
  const PaddedPlane gpad{s.out_h, round_up(s.out_w, 16), 0, 0};
  const int64_t row_work = s.n * s.k * s.out_h * s.out_w;
  parallel_for(0, rows, grain_for(row_work), [&](int64_t t0, int64_t t1) {
    // (tap row, k, lanes_per_sum)
    std::vector<float> lanes(static_cast<size_t>((t1 - t0) * k_padded * lanes_per_sum), 0.0f);
    float* xp = thread_buffer(s.c * xpad.size(), 0);
    float* gyp = thread_buffer(k_padded * gpad.size(), 1);
    std::fill(gyp + s.k * gpad.size(), gyp + k_padded * gpad.size(), 0.0f);
    for (int64_t n = 0; n < s.n; ++n) {
      place_planes(x + n * s.c * s.h * s.w, s.c, s.h, s.w, xp, xpad);
      place_planes(gy + n * s.k * s.out_h * s.out_w, s.k, s.out_h, s.out_w, gyp, gpad);
      if (wide) {
        weight_lanes_wide(xp, xpad, gyp, gpad, lanes.data(), k_padded, t0, t1, s);
      } else {
        weight_lanes_narrow(xp, xpad, gyp, gpad, lanes.data(), k_padded, t0, t1, s);
      }
    }
    if (wide) {
      sum_weight_lanes<Vec16>(lanes.data(), gweight, k_padded, t0, t1, s);
    } else {
      sum_weight_lanes<Vec8>(lanes.data(), gweight, k_padded, t0, t1, s);
    }
  });
}

#endif
}  // namespace kiln::conv
