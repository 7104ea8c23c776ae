// Convolution as GEMM. The output columns (n, oh, ow) are cut into blocks: part of one image's
// plane when planes are large, several whole images when they are small (so each GEMM is big
// enough to run near peak). A block's input patches are unrolled (im2col) into
// col: (c/groups · kernel_h · kernel_w, block columns), per group:
//
//   forward          y_g[block]  = W_g · col                      W_g: (k/groups, rows)
//   backward input   colg        = W_gᵀ · gy_g[block], then col2im adds colg into gx
//   backward weight  gW_g       += gy_g[block] · colᵀ
//
// A 1×1, stride-1, unpadded convolution always takes one-image blocks: it then needs no
// unrolling (col is x) and no gathering, which costs more than wider GEMMs save.
// Threads split the blocks. The weight gradient sums blocks in kWeightSlots fixed slices (each
// into its own buffer, added in slot order), so results do not depend on the thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#include "../gemm/gemm.h"
#include "../gemm/gemm_bf16_compute.h"
#include "../parallel.h"
#include "internal.h"

namespace kiln::conv {
namespace {

// Floats of col per block: large enough to amortise packing the weight in every GEMM call,
// small enough to stay in the last-level cache.
constexpr int64_t kColBlockFloats = 1 << 20;

// Planes smaller than this many columns are grouped, several images per block.
constexpr int64_t kMinBlockColumns = 512;

// Blocks worth having at least, so threads get balanced shares.
constexpr int64_t kMinBlocks = 8;

// Fewer images than this whose planes are large cut each plane into at least this many equal
// blocks (a power of two, each of kMinBlockColumns or more), so two or four threads get equal
// shares at batch 1 (ResNet's stem, 112×112 outputs, was 7104 + 5440 columns); the cut
// depends on the shape only, never on the thread count.
constexpr int64_t kEvenBlocks = 4;

// Input rows of im2col's adjoint are cut into at least this many tasks (channels × pieces of
// their rows), so few channels (an RGB stem's input gradient) still split across threads.
constexpr int64_t kCol2imTasks = 16;

// The weight gradient's batch slices (see the header comment).
constexpr int64_t kWeightSlots = 4;

// Work (flops) one thread should get at least before the blocks are split between threads.
constexpr double kMinFlopsPerChunk = 4.0e6;

// Columns per block when a plane of `plane_out` columns is cut into blocks of at most about
// `target`: the fewest blocks of that size, or kEvenBlocks (fewer if they would be narrower
// than kMinBlockColumns, a power of two) when `few_images`, of equal widths rounded up to 16.
int64_t even_split(int64_t plane_out, int64_t target, bool few_images) {
  int64_t pieces = std::max<int64_t>(1, ceil_div(plane_out, target));
  if (few_images) {
    int64_t even = 1;
    while (even * 2 <= std::min(kEvenBlocks, plane_out / kMinBlockColumns)) even *= 2;
    pieces = std::max(pieces, even);
  }
  return std::min(plane_out, ceil_div(ceil_div(plane_out, pieces), 16) * 16);
}

// A block of output columns: images [n0, n1), and columns [j0, j1) of each image's plane.
struct Block {
  int64_t n0, n1, j0, j1;
  int64_t width() const { return j1 - j0; }
  int64_t columns() const { return (n1 - n0) * (j1 - j0); }
};

// Sizes derived from a shape, and how its output columns are cut into blocks.
struct Plan {
  int64_t cg, kg;      // input and output channels of a group
  int64_t rows;        // cg · kernel_h · kernel_w: rows of col, columns of a group's weight
  int64_t plane_in;    // h · w
  int64_t plane_out;   // out_h · out_w
  bool pointwise;      // 1×1, stride 1, no padding: col of one image is x itself
  int64_t images_per_block;  // > 1: blocks of whole images
  int64_t split;       // columns per block when blocks are parts of one plane
  int64_t block_count;

  explicit Plan(const Conv2dShape& s)
      : cg(s.c / s.groups),
        kg(s.k / s.groups),
        rows(cg * s.kernel_h * s.kernel_w),
        plane_in(s.h * s.w),
        plane_out(s.out_h * s.out_w) {
    pointwise = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
                s.pad_left == 0 && s.out_h == s.h && s.out_w == s.w;
    const int64_t target = std::max(kMinBlockColumns, kColBlockFloats / rows / 64 * 64);
    split = even_split(plane_out, target, !pointwise && s.n < kEvenBlocks);
    images_per_block = 1;
    if (plane_out < kMinBlockColumns && !pointwise) {  // pointwise: one image, used in place
      const int64_t wanted = (kMinBlockColumns + plane_out - 1) / plane_out;
      images_per_block = std::max<int64_t>(1, std::min(wanted, s.n / kMinBlocks));
    }
    block_count = images_per_block > 1 ? (s.n + images_per_block - 1) / images_per_block
                                       : s.n * ((plane_out + split - 1) / split);
  }

  Block block(const Conv2dShape& s, int64_t b) const {
    if (images_per_block > 1) return {b * images_per_block, std::min(s.n, (b + 1) * images_per_block), 0, plane_out};
    const int64_t splits = (plane_out + split - 1) / split;
    const int64_t j0 = b % splits * split;
    return {b / splits, b / splits + 1, j0, std::min(plane_out, j0 + split)};
  }

  int64_t max_block_columns() const { return images_per_block > 1 ? images_per_block * plane_out : split; }

  // Whether a block's operands can be read and written in place (one image).
  bool in_place(const Block& block) const { return block.n1 - block.n0 == 1; }
};

// Per-thread scratch, grown on demand: col (rows × block columns) and a gathered (k/groups ×
// block columns) slice of y or gy for blocks of several images.
struct Scratch {
  std::vector<float> col, slice;
};
Scratch& scratch(const Plan& p) {
  thread_local Scratch buffers;
  const size_t columns = static_cast<size_t>(p.max_block_columns());
  if (buffers.col.size() < static_cast<size_t>(p.rows) * columns) buffers.col.resize(static_cast<size_t>(p.rows) * columns);
  if (buffers.slice.size() < static_cast<size_t>(p.kg) * columns) buffers.slice.resize(static_cast<size_t>(p.kg) * columns);
  return buffers;
}

// Blocks per parallel chunk so a chunk carries at least kMinFlopsPerChunk.
int64_t block_grain(const Conv2dShape& s, const Plan& p) {
  const double flops = 2.0 * static_cast<double>(s.k) * static_cast<double>(p.rows) *
                       static_cast<double>(p.max_block_columns());
  return std::max<int64_t>(1, static_cast<int64_t>(kMinFlopsPerChunk / std::max(flops, 1.0)));
}

// Stride 2 moves every other float (im2col and col2im for n >= 17 outputs of a row).
#if KILN_HAS_SHUFFLE

// dst[i] = src[2i] for i < n, n >= 17: the even lanes of two vectors at a time, the last pair
// overlapping the one before it so no read goes past src[2(n − 1)].
__attribute__((always_inline)) inline void copy_even(const float* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n - 1; i += 16) {
    const int64_t at = std::min(i, n - 17);
    const Vec16 a = load16(src + 2 * at), b = load16(src + 2 * at + 16);
    store16(dst + at, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
  }
  dst[n - 1] = src[2 * (n - 1)];
}

// dst[2i] += src[i] for i < n, n >= 17, as copy_even's adjoint: the odd floats between are
// rewritten unchanged (dst[2i + 1] + 0), and lanes the overlapping last pair already added
// add 0.
__attribute__((always_inline)) inline void add_even(const float* src, float* dst, int64_t n) {
  typedef int32_t Int16 __attribute__((vector_size(64), aligned(4)));
  const Int16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const Vec16 zero{};
  for (int64_t i = 0; i < n - 1; i += 16) {
    const int64_t at = std::min(i, n - 17);
    const Int16 fresh = lane >= static_cast<int32_t>(i - at);  // all bits set in lanes not added yet
    const Vec16 v = (Vec16)((Int16)load16(src + at) & fresh);
    const Vec16 low = __builtin_shufflevector(v, zero, 0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
    const Vec16 high = __builtin_shufflevector(v, zero, 8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
    store16(dst + 2 * at, load16(dst + 2 * at) + low);
    store16(dst + 2 * at + 16, load16(dst + 2 * at + 16) + high);
  }
  dst[2 * (n - 1)] += src[n - 1];
}
#else
inline void copy_even(const float* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[2 * i];
}
inline void add_even(const float* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[2 * i] += src[i];
}
#endif

// col[row_begin : row_end, 0 : j1 − j0] (row stride ld) = those rows of the patches of x:
// (cg, h, w) under output columns [j0, j1) of the plane, walked one output row at a time.
KILN_VECTORIZE void im2col_rows(const float* x, float* col, int64_t ld, const Conv2dShape& s, int64_t j0, int64_t j1,
                                int64_t row_begin, int64_t row_end) {
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t c = row / (s.kernel_h * s.kernel_w), r = row / s.kernel_w % s.kernel_h, q = row % s.kernel_w;
    const int64_t w_offset = q * s.dilation_w - s.pad_left;
    const Range valid = valid_outputs(s.out_w, s.w, s.stride_w, w_offset);
    // One piece per output row: columns [ow_begin, ow_end) of row oh, at col column `at`.
    int64_t oh = j0 / s.out_w, ow_begin = j0 % s.out_w;
    for (int64_t at = 0; at < j1 - j0; ++oh, ow_begin = 0) {
      const int64_t ow_end = std::min(s.out_w, ow_begin + (j1 - j0 - at));
      float* dst = col + row * ld + at - ow_begin;  // dst[ow]
      const int64_t ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
      const int64_t lo = ih < 0 || ih >= s.h ? ow_end : std::clamp(valid.begin, ow_begin, ow_end);
      const int64_t hi = std::clamp(valid.end, lo, ow_end);
      const float* src = x + (c * s.h + ih) * s.w + w_offset;  // src[ow · stride_w]
      for (int64_t ow = ow_begin; ow < lo; ++ow) dst[ow] = 0.0f;
      if (s.stride_w == 1) {
        for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow];
      } else if (s.stride_w == 2 && hi - lo >= 17) {
        copy_even(src + 2 * lo, dst + lo, hi - lo);
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * s.stride_w];
      }
      for (int64_t ow = hi; ow < ow_end; ++ow) dst[ow] = 0.0f;
      at += ow_end - ow_begin;
    }
  }
}

// Rows of gx: (cg, h, w) += the patches in col[:, 0 : j1 − j0] (row stride ld), im2col's
// adjoint, for channel c's input rows [ih_begin, ih_end) only. Each gx element takes its
// terms in col's row order however its rows are cut, so any cut gives the same sums.
KILN_VECTORIZE void col2im_rows(const float* col, int64_t ld, float* gx, const Conv2dShape& s, int64_t j0, int64_t j1,
                                int64_t c, int64_t ih_begin, int64_t ih_end) {
  const int64_t taps = s.kernel_h * s.kernel_w;
  for (int64_t row = c * taps; row < (c + 1) * taps; ++row) {
    const int64_t r = row / s.kernel_w % s.kernel_h, q = row % s.kernel_w;
    const int64_t w_offset = q * s.dilation_w - s.pad_left;
    const Range valid = valid_outputs(s.out_w, s.w, s.stride_w, w_offset);
    int64_t oh = j0 / s.out_w, ow_begin = j0 % s.out_w;  // pieces as in im2col
    for (int64_t at = 0; at < j1 - j0; ++oh, ow_begin = 0) {
      const int64_t ow_end = std::min(s.out_w, ow_begin + (j1 - j0 - at));
      const int64_t ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
      const float* src = col + row * ld + at - ow_begin;  // src[ow]
      float* dst = gx + (c * s.h + ih) * s.w + w_offset;   // dst[ow · stride_w]
      const int64_t lo = ih < ih_begin || ih >= ih_end ? ow_end : std::clamp(valid.begin, ow_begin, ow_end);
      const int64_t hi = std::clamp(valid.end, lo, ow_end);
      if (s.stride_w == 1) {
        for (int64_t ow = lo; ow < hi; ++ow) dst[ow] += src[ow];
      } else if (s.stride_w == 2 && hi - lo >= 17) {
        add_even(src + lo, dst + 2 * lo, hi - lo);
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) dst[ow * s.stride_w] += src[ow];
      }
      at += ow_end - ow_begin;
    }
  }
}

// Stride 2 through its phases. Rows of ResNet's stride-2 planes are short (16, 8 or 4 outputs),
// too short for copy_even and add_even, and the strided scalar loops took as long as a third of
// the GEMM. Split into its four phases (even/odd rows × even/odd columns), a stride-2 plane
// makes every tap a stride-1 shifted copy (im2col) or add (col2im) of whole rows.
// Phase (py, px) of a plane (h, w) holds element (2i + py, 2j + px) at (i, j), phases
// (2, 2, (h + 1) / 2, (w + 1) / 2) per channel; phase py has (h − py + 1) / 2 valid rows.
struct PhaseGeometry {
  int64_t rows, cols;  // of each phase: (h + 1) / 2, (w + 1) / 2
  explicit PhaseGeometry(const Conv2dShape& s) : rows((s.h + 1) / 2), cols((s.w + 1) / 2) {}
  int64_t plane() const { return rows * cols; }
  int64_t channel() const { return 4 * plane(); }
};

// Whether im2col and col2im go through the phases: stride 2, dilation 1, blocks of whole
// planes, kernels that read every phase (1×1 reads one: splitting all four made ResNet's 1×1
// stride-2 downsampling ~10% slower).
bool phases_apply(const Conv2dShape& s, int64_t j0, int64_t j1) {
  return s.stride_h == 2 && s.stride_w == 2 && s.dilation_h == 1 && s.dilation_w == 1 && s.kernel_h >= 2 &&
         s.kernel_w >= 2 && j0 == 0 && j1 == s.out_h * s.out_w;
}

// Where tap offset `a` (r − pad_top, or q − pad_left) lands: phase a mod 2, shifted by ⌊a / 2⌋.
struct PhaseTap {
  int64_t phase, shift;
  explicit PhaseTap(int64_t a) : phase(a & 1), shift((a - (a & 1)) / 2) {}
};

// phases (cg, 2, 2, rows, cols) of one image's x (cg, h, w).
KILN_VECTORIZE void split_phases(const float* x, float* phases, const Conv2dShape& s, const PhaseGeometry& g,
                                 int64_t channels) {
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t ih = 0; ih < s.h; ++ih) {
      const float* src = x + (c * s.h + ih) * s.w;
      float* even = phases + c * g.channel() + ((ih & 1) * 2) * g.plane() + (ih >> 1) * g.cols;
      float* odd = even + g.plane();
      for (int64_t j = 0; j < s.w / 2; ++j) {
        even[j] = src[2 * j];
        odd[j] = src[2 * j + 1];
      }
      if (s.w % 2 != 0) even[s.w / 2] = src[s.w - 1];
    }
  }
}

// Where tap (r, q) reads x's phases, for every output: phase plane `offset` floats into a
// channel's phases (shift included), outputs rows [oh_begin, oh_end) × columns [ow_begin,
// ow_end) inside x, zeros elsewhere.
struct PhaseWindow {
  int64_t offset, oh_begin, oh_end, ow_begin, ow_end;
  PhaseWindow(const Conv2dShape& s, const PhaseGeometry& g, int64_t r, int64_t q) {
    const PhaseTap y(r - s.pad_top), x(q - s.pad_left);
    offset = (y.phase * 2 + x.phase) * g.plane() + y.shift * g.cols + x.shift;
    oh_begin = std::min(s.out_h, std::max<int64_t>(0, -y.shift));
    oh_end = std::max(oh_begin, std::min(s.out_h, (s.h - y.phase + 1) / 2 - y.shift));
    const Range valid = valid_outputs(s.out_w, (s.w - x.phase + 1) / 2, 1, x.shift);
    ow_begin = valid.begin;
    ow_end = valid.end;
    if (oh_begin == oh_end || ow_begin == ow_end) oh_begin = oh_end = ow_begin = ow_end = 0;  // all zeros
  }
};

// dst[0 : out_h · out_w] = one tap's row of col from src = its phase plane at `offset`
// (src[oh · cols + ow]). When phase rows are as long as output rows (3×3, stride 2, padding 1:
// ResNet's downsampling, rows of 16, 8 and 4), the window is one contiguous copy whose
// wrapped columns are zeroed after; otherwise row by row.
KILN_VECTORIZE void copy_phase_window(const float* src, float* dst, const Conv2dShape& s, const PhaseGeometry& g,
                                      const PhaseWindow& t) {
  const int64_t ow_n = s.out_w, size = s.out_h * ow_n;
  if (g.cols == ow_n) {
    const int64_t first = t.oh_begin * ow_n + t.ow_begin, last = t.oh_end == 0 ? 0 : (t.oh_end - 1) * ow_n + t.ow_end;
    for (int64_t at = 0; at < first; ++at) dst[at] = 0.0f;
    for (int64_t at = first; at < last; ++at) dst[at] = src[at];
    for (int64_t oh = t.oh_begin; oh + 1 < t.oh_end; ++oh) {  // columns between one row's end and the next's start
      for (int64_t at = oh * ow_n + t.ow_end; at < (oh + 1) * ow_n + t.ow_begin; ++at) dst[at] = 0.0f;
    }
    for (int64_t at = std::max(first, last); at < size; ++at) dst[at] = 0.0f;
    return;
  }
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    float* dst_row = dst + oh * ow_n;
    const bool inside = oh >= t.oh_begin && oh < t.oh_end;
    const int64_t lo = inside ? t.ow_begin : ow_n, hi = inside ? t.ow_end : ow_n;
    const float* src_row = src + oh * g.cols;
    for (int64_t ow = 0; ow < lo; ++ow) dst_row[ow] = 0.0f;
    for (int64_t ow = lo; ow < hi; ++ow) dst_row[ow] = src_row[ow];
    for (int64_t ow = hi; ow < ow_n; ++ow) dst_row[ow] = 0.0f;
  }
}

// im2col_rows over a whole plane, from x's phases: each output row of tap (r, q) is a
// stride-1 piece of one phase row.
void im2col_phase_rows(const float* phases, float* col, int64_t ld, const Conv2dShape& s, const PhaseGeometry& g,
                       int64_t row_begin, int64_t row_end) {
  const int64_t taps = s.kernel_h * s.kernel_w;
  int64_t c = row_begin / taps, r = row_begin % taps / s.kernel_w, q = row_begin % s.kernel_w;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const PhaseWindow t(s, g, r, q);
    // src[oh · cols + ow] for the window's outputs (never read outside it)
    copy_phase_window(phases + c * g.channel() + t.offset, col + row * ld, s, g, t);
    if (++q == s.kernel_w) {
      q = 0;
      if (++r == s.kernel_h) r = 0, ++c;
    }
  }
}

// col2im_rows over a whole plane through phases: channel c's taps are added, in col's row
// order, into its zeroed phases, and its input rows [ih_begin, ih_end) of gx are then
// overwritten with their phases' sums (the phase path takes whole planes, so this block holds
// every term of these rows; same terms, same order: gx needs no zeroing). When the task has the whole channel and
// phase rows are as long as output rows, a tap's window is added as one contiguous run, its
// wrapped columns (outputs whose tap falls in the padding) zeroed in col first: col is
// scratch, and no other task reads this channel's rows.
KILN_VECTORIZE void col2im_phase_rows(float* col, int64_t ld, float* gx, const Conv2dShape& s, const PhaseGeometry& g,
                                      int64_t c, int64_t ih_begin, int64_t ih_end) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < g.channel()) buffer.resize(static_cast<size_t>(g.channel()));
  float* phases = buffer.data();
  std::fill(phases, phases + g.channel(), 0.0f);
  const bool contiguous = g.cols == s.out_w && ih_begin == 0 && ih_end == s.h;
  const int64_t taps = s.kernel_h * s.kernel_w, ow_n = s.out_w;
  for (int64_t tap = 0; tap < taps; ++tap) {
    const int64_t r = tap / s.kernel_w, q = tap % s.kernel_w;
    const PhaseWindow t(s, g, r, q);
    float* src = col + (c * taps + tap) * ld;
    float* dst = phases + t.offset;  // dst[oh · cols + ow]
    if (contiguous) {
      const int64_t first = t.oh_begin * ow_n + t.ow_begin, last = t.oh_end == 0 ? 0 : (t.oh_end - 1) * ow_n + t.ow_end;
      for (int64_t oh = t.oh_begin; oh + 1 < t.oh_end; ++oh) {
        for (int64_t at = oh * ow_n + t.ow_end; at < (oh + 1) * ow_n + t.ow_begin; ++at) src[at] = 0.0f;
      }
      for (int64_t at = first; at < last; ++at) dst[at] += src[at];
      continue;
    }
    // Output rows whose phase row 2i + phase lies in [ih_begin, ih_end).
    const PhaseTap y(r - s.pad_top);
    const int64_t i_begin = std::max<int64_t>(0, ih_begin - y.phase + 1) / 2;
    const int64_t i_end = std::max<int64_t>(0, ih_end - y.phase + 1) / 2;
    const int64_t oh_end = std::min(t.oh_end, i_end - y.shift);
    for (int64_t oh = std::max(t.oh_begin, i_begin - y.shift); oh < oh_end; ++oh) {
      for (int64_t ow = t.ow_begin; ow < t.ow_end; ++ow) dst[oh * g.cols + ow] += src[oh * ow_n + ow];
    }
  }
  for (int64_t ih = ih_begin; ih < ih_end; ++ih) {
    float* dst = gx + (c * s.h + ih) * s.w;
    const float* even = phases + ((ih & 1) * 2) * g.plane() + (ih >> 1) * g.cols;
    const float* odd = even + g.plane();
    for (int64_t j = 0; j < s.w / 2; ++j) {
      dst[2 * j] = even[j];
      dst[2 * j + 1] = odd[j];
    }
    if (s.w % 2 != 0) dst[s.w - 1] = even[s.w / 2];
  }
}

// Short output rows at stride 1 (ResNet's 7×7 and 14×14 planes at batch 1): im2col_rows spends
// more on each row piece's bounds than on its few floats. From a zero-padded copy of the image
// every piece is a plain copy of out_w floats, done as one 16-float vector move where the 16
// stay inside this image's part of the col row (the overshoot is rewritten by the pieces after
// it), float by float otherwise (and without Vec16).
constexpr int64_t kShortRow = 16;

bool short_rows_apply(const Conv2dShape& s, int64_t j0, int64_t j1) {
  return s.stride_h == 1 && s.stride_w == 1 && s.out_w <= kShortRow && j0 == 0 && j1 == s.out_h * s.out_w;
}

// One image's x (cg, h, w) zero-padded to (cg, hp, wp), hp = pad_top + h + pad_bottom and
// wp likewise, then kShortRow floats of zeros so a vector move from any piece stays inside.
struct PaddedImage {
  int64_t hp, wp;
  explicit PaddedImage(const Conv2dShape& s)
      : hp(s.pad_top + s.h + s.pad_bottom), wp(s.pad_left + s.w + s.pad_right) {}
  int64_t floats(int64_t channels) const { return channels * hp * wp + kShortRow; }
};

void pad_image(const float* x, float* padded, const Conv2dShape& s, const PaddedImage& g, int64_t channels) {
  std::fill(padded, padded + g.floats(channels), 0.0f);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t ih = 0; ih < s.h; ++ih) {
      std::memcpy(padded + (c * g.hp + s.pad_top + ih) * g.wp + s.pad_left, x + (c * s.h + ih) * s.w,
                  sizeof(float) * static_cast<size_t>(s.w));
    }
  }
}

// im2col_rows over a whole plane at stride 1, from the padded image: row (c, r, q) of col is
// out_h pieces of out_w floats, piece oh from padded row oh + r·dilation_h of channel c,
// columns q·dilation_w onwards.
KILN_VECTORIZE void im2col_short_rows(const float* padded, float* col, int64_t ld, const Conv2dShape& s,
                                      const PaddedImage& g, int64_t row_begin, int64_t row_end) {
  const int64_t plane = s.out_h * s.out_w;
  // Pieces whose 16-float move ends inside the plane: oh · out_w + 16 <= plane.
  [[maybe_unused]] const int64_t vector_pieces =
      std::min(s.out_h, plane < kShortRow ? 0 : (plane - kShortRow) / s.out_w + 1);
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t c = row / (s.kernel_h * s.kernel_w), r = row / s.kernel_w % s.kernel_h, q = row % s.kernel_w;
    const float* src = padded + (c * g.hp + r * s.dilation_h) * g.wp + q * s.dilation_w;  // src[oh · wp + ow]
    float* dst = col + row * ld;                                                          // dst[oh · out_w + ow]
    int64_t oh = 0;
#if KILN_HAS_VEC16
    for (; oh < vector_pieces; ++oh) store16(dst + oh * s.out_w, load16(src + oh * g.wp));
#endif
    for (; oh < s.out_h; ++oh) {
      for (int64_t ow = 0; ow < s.out_w; ++ow) dst[oh * s.out_w + ow] = src[oh * g.wp + ow];
    }
  }
}

// col (rows, j1 − j0) = the patches of one image's x (see im2col_rows), rows cut across threads
// (on the calling thread alone inside a parallel loop, or when small).
void im2col(const float* x, float* col, int64_t ld, const Conv2dShape& s, const Plan& p, int64_t j0, int64_t j1) {
  if (short_rows_apply(s, j0, j1)) {
    const PaddedImage g(s);
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < g.floats(p.cg)) buffer.resize(static_cast<size_t>(g.floats(p.cg)));
    pad_image(x, buffer.data(), s, g, p.cg);
    const float* padded = buffer.data();
    parallel_for_balanced(0, p.rows, grain_for(j1 - j0), [&](int64_t begin, int64_t end) {
      im2col_short_rows(padded, col, ld, s, g, begin, end);
    });
    return;
  }
  if (phases_apply(s, j0, j1)) {
    const PhaseGeometry g(s);
    thread_local std::vector<float> buffer;
    if (static_cast<int64_t>(buffer.size()) < p.cg * g.channel()) buffer.resize(static_cast<size_t>(p.cg * g.channel()));
    split_phases(x, buffer.data(), s, g, p.cg);
    const float* phases = buffer.data();
    parallel_for_balanced(0, p.rows, grain_for(j1 - j0), [&](int64_t begin, int64_t end) {
      im2col_phase_rows(phases, col, ld, s, g, begin, end);
    });
    return;
  }
  parallel_for_balanced(0, p.rows, grain_for(j1 - j0), [&](int64_t begin, int64_t end) {
    im2col_rows(x, col, ld, s, j0, j1, begin, end);
  });
}

// One image's gx (cg, h, w) += col2im of col (rows, j1 − j0): tasks are (channel, piece of
// its input rows), which write disjoint rows of gx, cut across threads as im2col's. The phase
// path overwrites gx instead (whole planes) and zeroes the entries of col (scratch) it drops.
void col2im(float* col, int64_t ld, float* gx, const Conv2dShape& s, const Plan& p, int64_t j0, int64_t j1) {
  const int64_t pieces = std::max<int64_t>(1, std::min(s.h, ceil_div(kCol2imTasks, p.cg)));  // per channel
  const int64_t work = s.kernel_h * s.kernel_w * (j1 - j0) / pieces;  // floats added per task
  const bool phases = phases_apply(s, j0, j1);
  parallel_for_balanced(0, p.cg * pieces, grain_for(work), [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t c = task / pieces, piece = task % pieces;
      const int64_t ih_begin = piece * s.h / pieces, ih_end = (piece + 1) * s.h / pieces;
      if (phases) {
        col2im_phase_rows(col, ld, gx, s, PhaseGeometry(s), c, ih_begin, ih_end);
      } else {
        col2im_rows(col, ld, gx, s, j0, j1, c, ih_begin, ih_end);
      }
    }
  });
}

// A (rows, columns) operand with row stride ld.
struct Operand {
  const float* data;
  int64_t ld;
};

// The col operand of group `group` over a block: x itself (pointwise, one image) or unrolled.
Operand col_operand(const float* x, const Conv2dShape& s, const Plan& p, const Block& block, int64_t group,
                    float* col) {
  const float* x_group = x + group * p.cg * p.plane_in;
  if (p.pointwise && p.in_place(block)) return {x_group + block.n0 * s.c * p.plane_in + block.j0, p.plane_in};
  const int64_t ld = block.columns();
  for (int64_t n = block.n0; n < block.n1; ++n) {
    im2col(x_group + n * s.c * p.plane_in, col + (n - block.n0) * block.width(), ld, s, p, block.j0, block.j1);
  }
  return {col, ld};
}

// The (kg, block columns) slice of gy for group `group`: in place for one image, else gathered.
Operand output_slice(const float* gy, const Conv2dShape& s, const Plan& p, const Block& block, int64_t group,
                     float* slice) {
  const float* gy_group = gy + group * p.kg * p.plane_out;
  if (p.in_place(block)) return {gy_group + block.n0 * s.k * p.plane_out + block.j0, p.plane_out};
  const int64_t ld = block.columns();
  for (int64_t n = block.n0; n < block.n1; ++n) {
    for (int64_t kk = 0; kk < p.kg; ++kk) {
      std::memcpy(slice + kk * ld + (n - block.n0) * p.plane_out, gy_group + (n * s.k + kk) * p.plane_out,
                  sizeof(float) * static_cast<size_t>(p.plane_out));
    }
  }
  return {slice, ld};
}

// y over one block, every group, without bias.
void forward_block(const float* x, const float* weight, float* y, const Conv2dShape& s, const Plan& p,
                   const Block& block) {
  Scratch& buffers = scratch(p);
  for (int64_t group = 0; group < s.groups; ++group) {
    const Operand col = col_operand(x, s, p, block, group, buffers.col.data());
    const float* w_group = weight + group * p.kg * p.rows;
    float* y_group = y + group * p.kg * p.plane_out;
    if (p.in_place(block)) {
      sgemm_in(s.gemm_precision, false, false, p.kg, block.width(), p.rows, 1.0f, w_group, p.rows, col.data, col.ld,
               0.0f, y_group + block.n0 * s.k * p.plane_out + block.j0, p.plane_out);
      continue;
    }
    const int64_t ld = block.columns();
    float* slice = buffers.slice.data();
    sgemm_in(s.gemm_precision, false, false, p.kg, ld, p.rows, 1.0f, w_group, p.rows, col.data, col.ld, 0.0f, slice,
             ld);
    for (int64_t n = block.n0; n < block.n1; ++n) {
      for (int64_t kk = 0; kk < p.kg; ++kk) {
        std::memcpy(y_group + (n * s.k + kk) * p.plane_out, slice + kk * ld + (n - block.n0) * p.plane_out,
                    sizeof(float) * static_cast<size_t>(p.plane_out));
      }
    }
  }
}

// gx over one block's images: adds the block's columns' contributions (gx zeroed beforehand,
// except pointwise one-image blocks and stride-2 phase blocks, which are written directly).
void backward_input_block(const float* gy, const float* weight, float* gx, const Conv2dShape& s, const Plan& p,
                          const Block& block) {
  Scratch& buffers = scratch(p);
  for (int64_t group = 0; group < s.groups; ++group) {
    const Operand gy_slice = output_slice(gy, s, p, block, group, buffers.slice.data());
    const float* w_group = weight + group * p.kg * p.rows;
    float* gx_group = gx + group * p.cg * p.plane_in;
    if (p.pointwise && p.in_place(block)) {
      sgemm_in(s.gemm_precision, true, false, p.rows, block.width(), p.kg, 1.0f, w_group, p.rows, gy_slice.data,
               gy_slice.ld, 0.0f, gx_group + block.n0 * s.c * p.plane_in + block.j0, p.plane_in);
      continue;
    }
    const int64_t ld = block.columns();
    float* col = buffers.col.data();
    sgemm_in(s.gemm_precision, true, false, p.rows, ld, p.kg, 1.0f, w_group, p.rows, gy_slice.data, gy_slice.ld, 0.0f,
             col, ld);
    for (int64_t n = block.n0; n < block.n1; ++n) {
      col2im(col + (n - block.n0) * block.width(), ld, gx_group + n * s.c * p.plane_in, s, p, block.j0, block.j1);
    }
  }
}

// gweight = the weight gradient of blocks [b_begin, b_end) alone.
void backward_weight_blocks(const float* x, const float* gy, float* gweight, const Conv2dShape& s, const Plan& p,
                            int64_t b_begin, int64_t b_end) {
  Scratch& buffers = scratch(p);
  for (int64_t b = b_begin; b < b_end; ++b) {
    const Block block = p.block(s, b);
    for (int64_t group = 0; group < s.groups; ++group) {
      const Operand col = col_operand(x, s, p, block, group, buffers.col.data());
      const Operand gy_slice = output_slice(gy, s, p, block, group, buffers.slice.data());
      const float beta = b > b_begin ? 1.0f : 0.0f;
      sgemm_in(s.gemm_precision, false, true, p.kg, p.rows, block.columns(), 1.0f, gy_slice.data, gy_slice.ld, col.data,
               col.ld, beta, gweight + group * p.kg * p.rows, p.rows);
    }
  }
}

}  // namespace

void gemm_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s) {
  const Plan p(s);
  parallel_for_balanced(0, p.block_count, block_grain(s, p), [&](int64_t b_begin, int64_t b_end) {
    for (int64_t b = b_begin; b < b_end; ++b) {
      const Block block = p.block(s, b);
      forward_block(x, weight, y, s, p, block);
      if (bias != nullptr) add_bias(bias, y, s, block.n0, block.n1, block.j0, block.j1);
    }
  });
}

void gemm_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  const Plan p(s);
  // Blocks that are parts of one image's plane add into overlapping rows of its gx (col2im of
  // neighbouring output rows): a task is all blocks of an image, never split between threads.
  // Each task zeroes its images' gx just before adding into them, while they are in cache.
  const int64_t unit = p.images_per_block > 1 || s.n == 0 ? 1 : p.block_count / s.n;  // blocks per task
  const int64_t image = s.c * p.plane_in;
  parallel_for_balanced(0, p.block_count / unit, std::max<int64_t>(1, block_grain(s, p) / unit), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin * unit; b < end * unit; ++b) {
      const Block block = p.block(s, b);
      if (!p.pointwise && !phases_apply(s, block.j0, block.j1) && b % unit == 0) {
        std::memset(gx + block.n0 * image, 0, sizeof(float) * static_cast<size_t>((block.n1 - block.n0) * image));
      }
      backward_input_block(gy, weight, gx, s, p, block);
    }
  });
}

void gemm_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s) {
  const Plan p(s);
  const int64_t weight_size = s.k * p.rows;
  if (p.block_count == 0) {
    std::fill(gweight, gweight + weight_size, 0.0f);
    return;
  }
  const int64_t slots = std::min(p.block_count, kWeightSlots);
  std::vector<float> partial(static_cast<size_t>((slots - 1) * weight_size));
  const int64_t grain = block_grain(s, p) >= p.block_count ? slots : 1;
  parallel_for_balanced(0, slots, grain, [&](int64_t slot_begin, int64_t slot_end) {
    for (int64_t slot = slot_begin; slot < slot_end; ++slot) {
      float* target = slot == 0 ? gweight : partial.data() + (slot - 1) * weight_size;
      backward_weight_blocks(x, gy, target, s, p, slot * p.block_count / slots, (slot + 1) * p.block_count / slots);
    }
  });
  for (int64_t slot = 1; slot < slots; ++slot) {
    const float* source = partial.data() + (slot - 1) * weight_size;
    for (int64_t i = 0; i < weight_size; ++i) gweight[i] += source[i];
  }
}

}  // namespace kiln::conv
