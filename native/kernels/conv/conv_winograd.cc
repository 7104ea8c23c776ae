// Winograd F(2×2, 3×3) for 3×3, stride-1, undilated, ungrouped convolutions with many channels:
// each 2×2 output tile costs 16 multiplications per (input, output) channel pair instead of 36,
// the 16 products of a tile being 16 independent GEMMs over channels (Lavin & Gray, 2016).
//
//   forward          M[e] (k, tiles) = U[e] (k, c) · V[e] (c, tiles), e = the 16 tile entries
//                    U = G g Gᵀ (filter), V = Bᵀ d B (4×4 input tile), y tile = Aᵀ M A
//   backward input   the same correlation of gy with the filter flipped and channels swapped
//                    (padding 2 − padding, so at most 2 per side)
//   backward weight  Ŵ[e] (k, c) = Σ Z[e] (k, tiles) · V[e]ᵀ with Z = A gy Aᵀ, gw = Gᵀ Ŵ G
//
// Tiles are processed in blocks sized for the cache and the filters (Problem::block); with
// several blocks, U is packed once for all of them (pack_entries); threads
// split blocks, or a single block's transforms and GEMMs; the weight gradient
// sums blocks in fixed slices (as in conv_gemm.cc), so results do not depend on thread count.
#include <algorithm>
#include <memory>
#include <vector>

#include "../gemm/gemm.h"
#include "../parallel.h"
#include "internal.h"

// The vectorized transforms need Vec16 and __builtin_shufflevector (GCC 12+, Clang).
#if KILN_HAS_VEC16 && (defined(__clang__) || __GNUC__ >= 12)
#define KILN_WINOGRAD 1
#else
#define KILN_WINOGRAD 0
#endif

namespace kiln::conv {

bool winograd_supported(const Conv2dShape& s) {
  return KILN_WINOGRAD && s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.groups == 1 &&
         std::max({s.pad_top, s.pad_bottom, s.pad_left, s.pad_right}) <= 2;
}

#if KILN_WINOGRAD
namespace {

constexpr int64_t kEntries = 16;             // a transformed tile is 4 × 4
constexpr int64_t kBlockFloats = 1 << 18;    // transformed input of a block of tiles (1 MiB): GEMMs
                                             // over a few hundred tiles, operands in L2/L3
constexpr int64_t kWeightSlots = 4;
constexpr int64_t kEvenBlocks = 4;      // below this many blocks, blocks are made equal (see Problem::block)
constexpr int64_t kMinSplitTiles = 96;  // tiles of a block split only to balance threads

// One correlation through Winograd: `in_channels` planes of in_h × in_w (padded by pad_top /
// pad_left, zeros beyond) → `out_channels` planes of out_h × out_w, for n images.
struct Problem {
  int64_t n, in_channels, in_h, in_w, pad_top, pad_left, out_channels, out_h, out_w;
  int64_t tiles_h() const { return (out_h + 1) / 2; }
  int64_t tiles_w() const { return (out_w + 1) / 2; }
  int64_t tiles() const { return n * tiles_h() * tiles_w(); }
  // Tiles per block: at most kBlockFloats of transformed input (and at least 16 tiles), the
  // tiles shared evenly between blocks; fewer than kEvenBlocks blocks (one image: ResNet's
  // 56×56 stage is 784 tiles, 28×28 is 196) become a power of two of equal blocks, down to
  // kMinSplitTiles each, so two or four threads get equal shares (the cut depends on the
  // shape only, never on the thread count). Then raised until the transformed filters U (Ŵ in
  // the weight gradient), 16 · in · out floats, are no larger than a block's transformed tiles,
  // 16 · (in + out) · block, or to all the tiles: each block's 16 GEMMs read U (add into Ŵ)
  // once, so shallow blocks stream it through memory for little work. A single block runs on
  // the caller, its GEMMs cut across threads. ResNet-18's 512→512 at 4×4, batch 64 (256
  // tiles): blocks of 32 → one of 256, weight gradient 150 → 61-65 ms, forward and input
  // gradient 65-67 → 60-62 ms (1 thread, loaded machine).
  int64_t block() const {
    const int64_t balanced = in_channels * out_channels / (in_channels + out_channels);
    return std::max(cache_block(), std::min(tiles(), balanced));
  }
  int64_t blocks() const { return (tiles() + block() - 1) / block(); }

 private:
  // The tiles of a block by cache size and thread balance alone.
  int64_t cache_block() const {
    const int64_t largest = std::max<int64_t>(16, std::min(tiles(), kBlockFloats / (kEntries * in_channels)));
    int64_t count = (tiles() + largest - 1) / largest;
    if (count < kEvenBlocks) {
      const int64_t wanted = std::min(kEvenBlocks, std::max(count, tiles() / kMinSplitTiles));
      count = 1;
      while (count < wanted) count *= 2;
    }
    const int64_t even = ((tiles() + count - 1) / count + 7) / 8 * 8;  // a multiple of 8 columns
    return std::max<int64_t>(16, std::min(largest, even));
  }
};

// Floats between the entries of a block's transformed tiles (16, channels, ld): the entries'
// planes, one cache line apart beyond that, so that the 16 values of a tile, written (read)
// together, do not all map to one L1 set (planes of 64 channels × 256 tiles are 64 KiB).
constexpr int64_t kEntryPad = 16;
inline int64_t entry_stride(int64_t channels, int64_t ld) { return channels * ld + kEntryPad; }

// The row stride (floats) of a block's transformed tiles, block ≥ the tiles: not a multiple of
// 32 floats (128 bytes), so that sgemm reads each entry's (channels × tiles) operand in place
// instead of packing it (gemm.cc, rows_spread_over_l1), its rows spread over L1's sets.
inline int64_t tile_row_stride(int64_t block) { return block % 32 == 0 ? block + 8 : block; }

// The tile's image and tile coordinates from its index.
struct Tile {
  int64_t image, th, tw;
};
inline Tile tile_at(const Problem& p, int64_t t) {
  const int64_t per_image = p.tiles_h() * p.tiles_w();
  return {t / per_image, t % per_image / p.tiles_w(), t % p.tiles_w()};
}

// The run of tiles starting at tile t (< t1): those sharing its image and tile row.
inline int64_t run_length(const Problem& p, const Tile& tile, int64_t t, int64_t t1) {
  return std::min(p.tiles_w() - tile.tw, t1 - t);
}

// The calling thread's buffer of at least `floats` floats for padded rows (zeros when first
// grown, so its slack is readable): the weight gradient transforms a block in many small
// chunks (transform_inputs_to_panels), and a fresh vector per call was one allocation per chunk.
float* row_buffer(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

// rows[i][col] (i < count, col < width) = plane row first_row + i at column col − left, or 0
// outside the plane: the zero-padded rows a run of tiles reads. Each row is zeros, a copy of
// the plane's columns that land in it, zeros.
void padded_rows(const float* plane, int64_t h, int64_t w, int64_t first_row, int64_t count, int64_t left,
                 int64_t width, float* rows) {
  const int64_t lo = std::clamp<int64_t>(left, 0, width), hi = std::clamp<int64_t>(left + w, lo, width);
  for (int64_t i = 0; i < count; ++i) {
    float* dst = rows + i * width;
    const int64_t ih = first_row + i;
    if (ih < 0 || ih >= h) {
      std::fill(dst, dst + width, 0.0f);
      continue;
    }
    std::fill(dst, dst + lo, 0.0f);
    std::copy(plane + ih * w + (lo - left), plane + ih * w + (hi - left), dst + lo);
    std::fill(dst + hi, dst + width, 0.0f);
  }
}

// Channels ahead of the one being transformed whose rows are prefetched (see prefetch_rows).
constexpr int64_t kPrefetchChannels = 2;

// Prefetches rows [first_row, first_row + count) of a plane, those inside it: the transforms
// take a run's few rows from each channel's plane in turn (planes 4 KiB apart at 32×32), a
// pattern the hardware prefetchers do not follow.
inline void prefetch_rows(const float* plane, int64_t h, int64_t w, int64_t first_row, int64_t count) {
  for (int64_t r = std::max<int64_t>(first_row, 0); r < std::min(first_row + count, h); ++r) {
    for (int64_t col = 0; col < w; col += 16) __builtin_prefetch(plane + r * w + col);
  }
}

// padded_rows of one channel's plane, after prefetching the same rows of the plane
// kPrefetchChannels channels ahead when `ahead` (the run transforms that channel too).
inline void channel_rows(const float* plane, int64_t h, int64_t w, int64_t first_row, int64_t count, int64_t left,
                         int64_t width, bool ahead, float* rows) {
  if (ahead) prefetch_rows(plane + kPrefetchChannels * h * w, h, w, first_row, count);
  padded_rows(plane, h, w, first_row, count, left, width, rows);
}

// Runs of tiles are transformed a vector of tiles at a time (lane l = tile i0 + l): Vec16 on
// AVX-512, Vec8 elsewhere (wide_vectors(); 16 Vec16 values do not fit AVX2's registers).

// The first n lanes of v to out[0 : n].
template <typename V>
__attribute__((always_inline)) inline void store_lanes(float* out, V v, int64_t n) {
  if (n >= kLanes<V>) return store_vec(out, v);
  for (int64_t l = 0; l < n; ++l) out[l] = v[l];
}

// Bᵀ d B of kLanes<V> tiles side by side (d[r][j], lane l: tile l's window value (r, j)), the
// first n lanes of entry e to out[e · stride : + n].
template <typename V>
__attribute__((always_inline)) inline void input_vectors(V (&d)[4][4], float* out, int64_t stride, int64_t n) {
  for (int j = 0; j < 4; ++j) {
    const V t0 = d[0][j] - d[2][j], t1 = d[1][j] + d[2][j], t2 = d[2][j] - d[1][j], t3 = d[1][j] - d[3][j];
    d[0][j] = t0, d[1][j] = t1, d[2][j] = t2, d[3][j] = t3;
  }
  for (int r = 0; r < 4; ++r) {
    store_lanes(out + (r * 4 + 0) * stride, d[r][0] - d[r][2], n);
    store_lanes(out + (r * 4 + 1) * stride, d[r][1] + d[r][2], n);
    store_lanes(out + (r * 4 + 2) * stride, d[r][2] - d[r][1], n);
    store_lanes(out + (r * 4 + 3) * stride, d[r][1] - d[r][3], n);
  }
}

// Bᵀ d B for `count` tiles side by side: tile i reads rows[0:4][col0 + 2i : col0 + 2i + 4]
// (rows `width` apart, readable 32 columns past the run) and writes out[e · stride + i].
template <typename V>
__attribute__((always_inline)) inline void input_run(const float* rows, int64_t width, int64_t col0, int64_t count, float* out, int64_t stride) {
  for (int64_t i0 = 0; i0 < count; i0 += kLanes<V>) {
    const int64_t n = count - i0;
    V d[4][4];  // d[r][j], lane l: row r, column col0 + 2(i0 + l) + j
    for (int r = 0; r < 4; ++r) {
      const float* base = rows + r * width + col0 + 2 * i0;
      split_pairs(base, &d[r][0], &d[r][1]);
      split_pairs(base + 2, &d[r][2], &d[r][3]);
    }
    input_vectors(d, out + i0, stride, n);
  }
}

// Aᵀ M A + bias for kLanes<V> tiles side by side (lane l: tile l, reading e[entry · stride + l]):
// y[r][c] holds output (r, c) of each tile's 2×2.
template <typename V>
__attribute__((always_inline)) inline void output_vectors(const float* e, int64_t stride, float bias, V (&y)[2][2]) {
  V m[4][4];
  for (int q = 0; q < 16; ++q) m[q / 4][q % 4] = load_vec<V>(e + q * stride);
  for (int r = 0; r < 2; ++r) {
    V s[4];
    for (int j = 0; j < 4; ++j) s[j] = r == 0 ? m[0][j] + m[1][j] + m[2][j] : m[1][j] - m[2][j] - m[3][j];
    y[r][0] = s[0] + s[1] + s[2] + bias;
    y[r][1] = s[1] - s[2] - s[3] + bias;
  }
}

// Aᵀ M A + bias for `count` tiles side by side: tile i reads e[entry · stride + i] (readable
// 16 floats past the run) and writes its 2×2 outputs to rows[0:2][2i : 2i + 2] (rows `width`
// apart, 32 columns of slack).
template <typename V>
__attribute__((always_inline)) inline void output_run(const float* e, int64_t stride, float bias, int64_t count, float* rows, int64_t width) {
  for (int64_t i0 = 0; i0 < count; i0 += kLanes<V>) {
    V y[2][2];  // lanes past count read the buffer's slack; their results are not copied out
    output_vectors<V>(e + i0, stride, bias, y);
    for (int r = 0; r < 2; ++r) {
      float* row = rows + r * width + 2 * i0;
      store_vec(row, interleave_low(y[r][0], y[r][1]));
      store_vec(row + kLanes<V>, interleave_high(y[r][0], y[r][1]));
    }
  }
}

// A g Aᵀ of kLanes<V> tiles side by side (gRC, lane l: tile l's gradient value (R, C)), the
// first n lanes of entry e to out[e · stride : + n].
template <typename V>
__attribute__((always_inline)) inline void gradient_vectors(V g00, V g01, V g10, V g11, float* out, int64_t stride, int64_t n) {
  const V r[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}};
  for (int q = 0; q < 4; ++q) {
    store_lanes(out + (q * 4 + 0) * stride, r[q][0], n);
    store_lanes(out + (q * 4 + 1) * stride, r[q][0] + r[q][1], n);
    store_lanes(out + (q * 4 + 2) * stride, r[q][0] - r[q][1], n);
    store_lanes(out + (q * 4 + 3) * stride, -r[q][1], n);
  }
}

// A g Aᵀ for `count` tiles side by side: tile i reads the 2×2 gradient rows[0:2][2i : 2i + 2]
// (rows `width` apart, 32 columns of slack) and writes out[e · stride + i].
template <typename V>
__attribute__((always_inline)) inline void gradient_run(const float* rows, int64_t width, int64_t count, float* out, int64_t stride) {
  for (int64_t i0 = 0; i0 < count; i0 += kLanes<V>) {
    const int64_t n = count - i0;
    V g00, g01, g10, g11;
    split_pairs(rows + 2 * i0, &g00, &g01);
    split_pairs(rows + width + 2 * i0, &g10, &g11);
    gradient_vectors(g00, g01, g10, g11, out + i0, stride, n);
  }
}

// Rows [c0, c1) of V (16 entries `stride` apart, rows ld apart, v at channel c0's row): Bᵀ d B
// of the 4×4 input tiles [t0, t1), one run of tiles at a time (the loop over tiles vectorizes: stride-2
// loads from padded rows, contiguous stores).
// A tile's 4×4 input window: its offset in channel 0's plane of the tile's image (at the
// window's first row and column, possibly outside the plane) and which rows and columns lie inside.
struct TileWindow {
  int64_t offset;
  bool row_inside[4], col_inside[4];
};

// Rows [c0, c1) of V for tiles [t0, t1) when a tile row is narrower than a vector (8×8 and 4×4
// planes: runs of 4 and 2 tiles filled a quarter to half of the lanes, after copying their rows
// into a padded buffer): vectors of consecutive tiles across rows and images, their windows
// read value by value (zeros outside the plane).
template <typename V>
__attribute__((always_inline)) inline void input_across_rows(const float* in, const Problem& p, int64_t t0, int64_t t1, int64_t c0,
                                                             int64_t c1, float* v, int64_t ld, int64_t stride) {
  constexpr int kVectorTiles = kLanes<V>;
  const int64_t plane = p.in_h * p.in_w;
  for (int64_t t = t0; t < t1; t += kVectorTiles) {
    const int count = static_cast<int>(std::min<int64_t>(kVectorTiles, t1 - t));
    TileWindow windows[kVectorTiles];
    for (int l = 0; l < count; ++l) {
      const Tile tile = tile_at(p, t + l);
      const int64_t ih0 = 2 * tile.th - p.pad_top, iw0 = 2 * tile.tw - p.pad_left;
      windows[l].offset = tile.image * p.in_channels * plane + ih0 * p.in_w + iw0;
      for (int i = 0; i < 4; ++i) {
        windows[l].row_inside[i] = ih0 + i >= 0 && ih0 + i < p.in_h;
        windows[l].col_inside[i] = iw0 + i >= 0 && iw0 + i < p.in_w;
      }
    }
    // Zeroed once per vector of tiles, not per channel (a `= {}` per channel was a rep stos,
    // ~30% of this transform at 8×8 in perf), and only when lanes past count are left unwritten.
    alignas(64) float values[4][4][kVectorTiles];
    if (count < kVectorTiles) std::fill(&values[0][0][0], &values[0][0][0] + 16 * kVectorTiles, 0.0f);
    for (int64_t c = c0; c < c1; ++c) {
      const float* channel = in + c * plane;
      for (int l = 0; l < count; ++l) {
        const TileWindow& w = windows[l];
        for (int r = 0; r < 4; ++r) {
          for (int j = 0; j < 4; ++j) values[r][j][l] = w.row_inside[r] && w.col_inside[j] ? channel[w.offset + r * p.in_w + j] : 0.0f;
        }
      }
      V d[4][4];
      for (int r = 0; r < 4; ++r) {
        for (int j = 0; j < 4; ++j) d[r][j] = load_vec<V>(values[r][j]);
      }
      input_vectors(d, v + (c - c0) * ld + (t - t0), stride, count);
    }
  }
}

KILN_VECTORIZE void transform_input_channels(const float* in, const Problem& p, int64_t t0, int64_t t1, int64_t c0,
                                             int64_t c1, float* v, int64_t ld, int64_t stride) {
  const int64_t width = 2 * p.tiles_w() + 2 + 32;
  const bool wide = wide_vectors();
  if (p.tiles_w() < (wide ? kLanes<Vec16> : kLanes<Vec8>)) {
    if (wide) {
      input_across_rows<Vec16>(in, p, t0, t1, c0, c1, v, ld, stride);
    } else {
      input_across_rows<Vec8>(in, p, t0, t1, c0, c1, v, ld, stride);
    }
    return;
  }
  float* rows = row_buffer(4 * width);
  for (int64_t t = t0; t < t1;) {
    const Tile tile = tile_at(p, t);
    const int64_t count = run_length(p, tile, t, t1), at = t - t0;
    for (int64_t c = c0; c < c1; ++c) {
      const float* plane = in + (tile.image * p.in_channels + c) * p.in_h * p.in_w;
      channel_rows(plane, p.in_h, p.in_w, 2 * tile.th - p.pad_top, 4, p.pad_left, width, c + kPrefetchChannels < c1, rows);
      if (wide) {
        input_run<Vec16>(rows, width, 2 * tile.tw, count, v + (c - c0) * ld + at, stride);
      } else {
        input_run<Vec8>(rows, width, 2 * tile.tw, count, v + (c - c0) * ld + at, stride);
      }
    }
    t += count;
  }
}

// A run of `count` tiles (tile first) of one plane from e (as output_run): whole vectors of
// tiles whose 2×2 outputs lie inside the plane are stored in place, the rest through `rows` (2
// rows `width` apart) and copied out. A 32×32 plane's tile row is two Vec8 vectors, stored
// with no copy (64→64 at 32×32, batch 64: the copies were ~1/3 of memmove's share, ~7% of the
// three passes in perf).
template <typename V>
__attribute__((always_inline)) inline void output_tiles(const float* e, int64_t stride, float bias, int64_t count, const Tile& tile,
                                                        const Problem& p, float* plane, float* rows, int64_t width) {
  const int64_t oh0 = 2 * tile.th, ow0 = 2 * tile.tw;
  const int64_t inside = oh0 + 2 <= p.out_h ? std::min(count, (p.out_w - ow0) / 2) / kLanes<V> * kLanes<V> : 0;
  if (inside > 0) output_run<V>(e, stride, bias, inside, plane + oh0 * p.out_w + ow0, p.out_w);
  if (inside == count) return;
  output_run<V>(e + inside, stride, bias, count - inside, rows, width);
  const int64_t col0 = ow0 + 2 * inside, columns = std::min(2 * (count - inside), p.out_w - col0);
  for (int64_t r = 0; r < 2 && oh0 + r < p.out_h; ++r) {
    std::copy(rows + r * width, rows + r * width + columns, plane + (oh0 + r) * p.out_w + col0);
  }
}

// Where a tile's 2×2 outputs go: their offset in channel 0's plane of the tile's image, and how
// many of their rows and columns lie inside the plane.
struct TileOutput {
  int64_t offset;
  int rows, cols;
};

// Channels [k0, k1) of out tiles [t0, t1) when a tile row is narrower than a vector (8×8 and
// 4×4 planes: runs of 4 and 2 tiles filled a quarter to half of the lanes, and each run's 2×2s
// went through a row buffer and a copy): vectors of consecutive tiles across rows and images,
// each tile's outputs stored one by one.
template <typename V>
__attribute__((always_inline)) inline void output_across_rows(const float* m, int64_t ld, int64_t stride, const float* bias, float* out,
                                                              const Problem& p, int64_t t0, int64_t t1, int64_t k0, int64_t k1) {
  constexpr int kVectorTiles = kLanes<V>;
  const int64_t plane = p.out_h * p.out_w;
  for (int64_t t = t0; t < t1; t += kVectorTiles) {
    const int count = static_cast<int>(std::min<int64_t>(kVectorTiles, t1 - t));
    TileOutput where[kVectorTiles];
    for (int l = 0; l < count; ++l) {
      const Tile tile = tile_at(p, t + l);
      where[l] = {tile.image * p.out_channels * plane + 2 * tile.th * p.out_w + 2 * tile.tw,
                  static_cast<int>(std::min<int64_t>(2, p.out_h - 2 * tile.th)), static_cast<int>(std::min<int64_t>(2, p.out_w - 2 * tile.tw))};
    }
    for (int64_t k = k0; k < k1; ++k) {
      V y[2][2];  // lanes past count read the buffer's slack; their results are not stored
      output_vectors<V>(m + k * ld + (t - t0), stride, bias == nullptr ? 0.0f : bias[k], y);
      float* channel = out + k * plane;
      for (int l = 0; l < count; ++l) {
        for (int r = 0; r < where[l].rows; ++r) {
          for (int c = 0; c < where[l].cols; ++c) channel[where[l].offset + r * p.out_w + c] = y[r][c][l];
        }
      }
    }
  }
}

// Channels [k0, k1) of out tiles [t0, t1) = Aᵀ M A (+ bias), M: (16, out_channels, ld; entries
// entry_stride apart), a run of tiles at a time (output_tiles), or across rows on narrow planes.
KILN_VECTORIZE void transform_output_channels(const float* m, int64_t ld, const float* bias, float* out, const Problem& p,
                                              int64_t t0, int64_t t1, int64_t k0, int64_t k1) {
  const int64_t width = 2 * p.tiles_w() + 32, stride = entry_stride(p.out_channels, ld);
  const bool wide = wide_vectors();
  if (p.tiles_w() < (wide ? kLanes<Vec16> : kLanes<Vec8>)) {
    if (wide) {
      output_across_rows<Vec16>(m, ld, stride, bias, out, p, t0, t1, k0, k1);
    } else {
      output_across_rows<Vec8>(m, ld, stride, bias, out, p, t0, t1, k0, k1);
    }
    return;
  }
  std::vector<float> buffer(static_cast<size_t>(2 * width));
  float* rows = buffer.data();
  for (int64_t t = t0; t < t1;) {
    const Tile tile = tile_at(p, t);
    const int64_t count = run_length(p, tile, t, t1), at = t - t0;
    for (int64_t k = k0; k < k1; ++k) {
      const float b = bias == nullptr ? 0.0f : bias[k];
      float* plane = out + (tile.image * p.out_channels + k) * p.out_h * p.out_w;
      if (wide) {
        output_tiles<Vec16>(m + k * ld + at, stride, b, count, tile, p, plane, rows, width);
      } else {
        output_tiles<Vec8>(m + k * ld + at, stride, b, count, tile, p, plane, rows, width);
      }
    }
    t += count;
  }
}

// Rows [k0, k1) of Z for tiles [t0, t1) when a tile row is narrower than a vector (as
// input_across_rows): each tile's 2×2 of gy read value by value (zeros outside the plane).
template <typename V>
__attribute__((always_inline)) inline void gradient_across_rows(const float* gy, const Problem& p, int64_t t0, int64_t t1, int64_t k0,
                                                                int64_t k1, float* z, int64_t ld, int64_t stride) {
  constexpr int kVectorTiles = kLanes<V>;
  const int64_t plane = p.out_h * p.out_w;
  for (int64_t t = t0; t < t1; t += kVectorTiles) {
    const int count = static_cast<int>(std::min<int64_t>(kVectorTiles, t1 - t));
    TileWindow windows[kVectorTiles];  // 2 × 2 windows: the first two rows and columns
    for (int l = 0; l < count; ++l) {
      const Tile tile = tile_at(p, t + l);
      windows[l].offset = tile.image * p.out_channels * plane + 2 * tile.th * p.out_w + 2 * tile.tw;
      for (int i = 0; i < 2; ++i) {
        windows[l].row_inside[i] = 2 * tile.th + i < p.out_h;
        windows[l].col_inside[i] = 2 * tile.tw + i < p.out_w;
      }
    }
    alignas(64) float values[2][2][kVectorTiles];  // as in input_across_rows
    if (count < kVectorTiles) std::fill(&values[0][0][0], &values[0][0][0] + 4 * kVectorTiles, 0.0f);
    for (int64_t k = k0; k < k1; ++k) {
      const float* channel = gy + k * plane;
      for (int l = 0; l < count; ++l) {
        const TileWindow& w = windows[l];
        for (int r = 0; r < 2; ++r) {
          for (int j = 0; j < 2; ++j) values[r][j][l] = w.row_inside[r] && w.col_inside[j] ? channel[w.offset + r * p.out_w + j] : 0.0f;
        }
      }
      gradient_vectors(load_vec<V>(values[0][0]), load_vec<V>(values[0][1]), load_vec<V>(values[1][0]), load_vec<V>(values[1][1]),
                       z + (k - k0) * ld + (t - t0), stride, count);
    }
  }
}

// Rows [k0, k1) of Z (16 entries `stride` apart, rows ld apart, z at channel k0's row) = A gy Aᵀ
// of the output-gradient tiles [t0, t1) (zeros outside).
KILN_VECTORIZE void transform_output_gradient_channels(const float* gy, const Problem& p, int64_t t0, int64_t t1,
                                                       int64_t k0, int64_t k1, float* z, int64_t ld, int64_t stride) {
  const int64_t width = 2 * p.tiles_w() + 32;
  const bool wide = wide_vectors();
  if (p.tiles_w() < (wide ? kLanes<Vec16> : kLanes<Vec8>)) {
    if (wide) {
      gradient_across_rows<Vec16>(gy, p, t0, t1, k0, k1, z, ld, stride);
    } else {
      gradient_across_rows<Vec8>(gy, p, t0, t1, k0, k1, z, ld, stride);
    }
    return;
  }
  float* rows = row_buffer(2 * width);
  for (int64_t t = t0; t < t1;) {
    const Tile tile = tile_at(p, t);
    const int64_t count = run_length(p, tile, t, t1), at = t - t0;
    for (int64_t k = k0; k < k1; ++k) {
      const float* plane = gy + (tile.image * p.out_channels + k) * p.out_h * p.out_w;
      channel_rows(plane, p.out_h, p.out_w, 2 * tile.th, 2, -2 * tile.tw, width, k + kPrefetchChannels < k1, rows);
      if (wide) {
        gradient_run<Vec16>(rows, width, count, z + (k - k0) * ld + at, stride);
      } else {
        gradient_run<Vec8>(rows, width, count, z + (k - k0) * ld + at, stride);
      }
    }
    t += count;
  }
}

// The transforms of a block, channels cut across threads when no parallel loop runs already (a
// single block: see Problem::block; inside one, parallel_for runs them on the caller).
int64_t channel_grain(int64_t t0, int64_t t1) { return grain_for(kEntries * (t1 - t0)); }

void transform_inputs(const float* in, const Problem& p, int64_t t0, int64_t t1, float* v, int64_t ld) {
  parallel_for(0, p.in_channels, channel_grain(t0, t1),
               [&](int64_t c0, int64_t c1) { transform_input_channels(in, p, t0, t1, c0, c1, v + c0 * ld, ld, entry_stride(p.in_channels, ld)); });
}

void transform_outputs(const float* m, int64_t ld, const float* bias, float* out, const Problem& p, int64_t t0, int64_t t1) {
  parallel_for(0, p.out_channels, channel_grain(t0, t1),
               [&](int64_t k0, int64_t k1) { transform_output_channels(m, ld, bias, out, p, t0, t1, k0, k1); });
}

void transform_output_gradients(const float* gy, const Problem& p, int64_t t0, int64_t t1, float* z, int64_t ld) {
  parallel_for(0, p.out_channels, channel_grain(t0, t1),
               [&](int64_t k0, int64_t k1) {
                 transform_output_gradient_channels(gy, p, t0, t1, k0, k1, z + k0 * ld, ld, entry_stride(p.out_channels, ld));
               });
}

// The 16 entries of G g Gᵀ for one 3×3 filter g (rotated by 180° when `rotate`), entry e at
// out[e · stride].
inline void transform_filter(const float* filter, bool rotate, float* out, int64_t stride) {
  float g[9];
  for (int i = 0; i < 9; ++i) g[i] = filter[rotate ? 8 - i : i];
  float r[4][3];
  for (int j = 0; j < 3; ++j) {
    r[0][j] = g[j];
    r[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
    r[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
    r[3][j] = g[6 + j];
  }
  for (int i = 0; i < 4; ++i) {
    const float e[4] = {r[i][0], 0.5f * (r[i][0] + r[i][1] + r[i][2]), 0.5f * (r[i][0] - r[i][1] + r[i][2]), r[i][2]};
    for (int j = 0; j < 4; ++j) out[(i * 4 + j) * stride] = e[j];
  }
}

// U (16, rows, cols; entries entry_stride apart, so that a filter's 16 values do not map to
// one L1 set: 512→512 forward at 4×4, batch 64, 50-53 → 41-45 ms, 1 thread): G g Gᵀ of filter
// g(row, col) (3×3, read through `filter`, rotated by 180° when `rotate`), rows cut across
// threads (a 512 × 512 filter is 4 M values to write; not zero-filled first, the padding
// between entries is never read).
template <typename FilterFn>
std::unique_ptr<float[]> transform_filters(int64_t rows, int64_t cols, bool rotate, const FilterFn& filter) {
  std::unique_ptr<float[]> u(new float[static_cast<size_t>(kEntries * entry_stride(rows, cols))]);
  parallel_for(0, rows, grain_for(kEntries * cols), [&](int64_t a_begin, int64_t a_end) {
    for (int64_t a = a_begin; a < a_end; ++a) {
      for (int64_t b = 0; b < cols; ++b) transform_filter(filter(a, b), rotate, u.get() + a * cols + b, entry_stride(rows, cols));
    }
  });
  return u;
}

// The 16 entries of U (16, rows, cols; entries entry_stride apart) packed once for the GEMMs
// of every block of tiles, entries cut across threads. sgemm packs its left operand on each
// call: each entry again for each block (64 blocks at ResNet-18's 64→64, 32×32, batch 64).
// Packed once and B read in place (tile_row_stride), batch 64, 1 thread, process CPU ms, main
// → this, minimum of 9 calls, three alternating runs on a loaded VM: 64→64 at 32×32 forward
// 40.9-41.8 → 37.5-39.4, input gradient 41.2-42.6 → 38.1-38.4; 128→128 at 16×16 36.8-38.4 →
// 35.3-35.7 and 37.0-37.9 → 34.4-35.6; 256→256 at 8×8 39.3-41.5 → 36.0-37.6 and 37.0-41.6 →
// 36.2-37.9. A single block (512→512 at 4×4) reuses nothing and stays with sgemm: packing
// there was 6% slower (a fresh 16 MiB of panels per call).
std::vector<PackedA> pack_entries(const float* u, int64_t rows, int64_t cols) {
  std::vector<PackedA> entries(kEntries);
  parallel_for(0, kEntries, grain_for(rows * cols), [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e) entries[static_cast<size_t>(e)] = PackedA(rows, cols, u + e * entry_stride(rows, cols), cols);
  });
  return entries;
}

// out = Winograd correlation of in with the transformed filters u (16, out_channels, in_channels).
void correlate(const float* in, const float* u, const float* bias, float* out, const Problem& p) {
  const int64_t block = p.block();
  const std::vector<PackedA> packed = p.blocks() > 1 ? pack_entries(u, p.out_channels, p.in_channels) : std::vector<PackedA>{};
  const double flops = 2.0 * kEntries * p.out_channels * p.in_channels * block;
  parallel_for_balanced(0, p.blocks(), std::max<int64_t>(1, static_cast<int64_t>(4.0e6 / flops)), [&](int64_t b0, int64_t b1) {
    const int64_t ld = tile_row_stride(block);
    const int64_t v_stride = entry_stride(p.in_channels, ld), m_stride = entry_stride(p.out_channels, ld);
    float* v = thread_buffer(kEntries * v_stride, 0);
    float* m = thread_buffer(kEntries * m_stride + 16, 1);  // + slack for output_run
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t t0 = b * block, t1 = std::min(p.tiles(), t0 + block);
      transform_inputs(in, p, t0, t1, v, ld);
      for (int64_t e = 0; e < kEntries; ++e) {
        if (packed.empty()) {
          sgemm(false, false, p.out_channels, t1 - t0, p.in_channels, 1.0f, u + e * entry_stride(p.out_channels, p.in_channels),
                p.in_channels, v + e * v_stride, ld, 0.0f, m + e * m_stride, ld);
        } else {
          sgemm_packed_a(packed[static_cast<size_t>(e)], t1 - t0, v + e * v_stride, ld, 0.0f, m + e * m_stride, ld);
        }
      }
      transform_outputs(m, ld, bias, out, p, t0, t1);
    }
  });
}

Problem forward_problem(const Conv2dShape& s) {
  return {s.n, s.c, s.h, s.w, s.pad_top, s.pad_left, s.k, s.out_h, s.out_w};
}

}  // namespace

void winograd_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s) {
  // U[e] (k, c) from weight[k, c].
  const std::unique_ptr<float[]> u =
      transform_filters(s.k, s.c, false, [&](int64_t k, int64_t c) { return weight + (k * s.c + c) * 9; });
  correlate(x, u.get(), bias, y, forward_problem(s));
}

void winograd_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  // U[e] (c, k) from weight[k, c] rotated by 180°.
  const std::unique_ptr<float[]> u =
      transform_filters(s.c, s.k, true, [&](int64_t c, int64_t k) { return weight + (k * s.c + c) * 9; });
  const Problem p{s.n, s.k, s.out_h, s.out_w, 2 - s.pad_top, 2 - s.pad_left, s.c, s.h, s.w};
  correlate(gy, u.get(), nullptr, gx, p);
}

namespace {
// Pairs (k, c) of the weight gradient's last step taken together (see finish_weight_gradient).
constexpr int64_t kFinishRun = 64;

// g[i][j] = (Gᵀ X_j G)[i] for the 4 × 4 X_j whose entry e is x4[e][j], j < kFinishRun: pair by
// pair in the vector lanes (the 9 results land in rows, scattered into gw after).
KILN_VECTORIZE void filter_gradients(const float (&x4)[kEntries][kFinishRun], float (&g)[9][kFinishRun]) {
  for (int64_t j = 0; j < kFinishRun; ++j) {
    float q[3][4];
    for (int col = 0; col < 4; ++col) {
      const float x0 = x4[col][j], x1 = x4[4 + col][j], x2 = x4[8 + col][j], x3 = x4[12 + col][j];
      q[0][col] = x0 + 0.5f * (x1 + x2);
      q[1][col] = 0.5f * (x1 - x2);
      q[2][col] = 0.5f * (x1 + x2) + x3;
    }
    for (int i = 0; i < 3; ++i) {
      g[i * 3 + 0][j] = q[i][0] + 0.5f * (q[i][1] + q[i][2]);
      g[i * 3 + 1][j] = 0.5f * (q[i][1] - q[i][2]);
      g[i * 3 + 2][j] = 0.5f * (q[i][1] + q[i][2]) + q[i][3];
    }
  }
}

// x4[e][j] = Σ over the slots in order of Ŵ[slot, e, kc0 + j], j < count (the rest zeros).
KILN_VECTORIZE void sum_slots(const float* w_hat, int64_t pairs, int64_t slots, int64_t kc0, int64_t count,
                              float (&x4)[kEntries][kFinishRun]) {
  for (int64_t e = 0; e < kEntries; ++e) {
    const float* first = w_hat + e * pairs + kc0;
    for (int64_t j = 0; j < kFinishRun; ++j) x4[e][j] = j < count ? first[j] : 0.0f;
    for (int64_t slot = 1; slot < slots; ++slot) {
      const float* plane = first + slot * kEntries * pairs;
      for (int64_t j = 0; j < count; ++j) x4[e][j] += plane[j];
    }
  }
}

// gw[k, c] = Gᵀ Ŵ[k, c] G, Ŵ (slots, 16, k, c) summed over the slots in order, kFinishRun
// pairs (k, c) at a time: each of the 16 · slots planes is read as one contiguous piece per run
// (the 16 · slots values of one pair at a time strode across as many planes: 23% of ResNet-18's
// 256→256 weight gradient at 8×8, batch 64, in perf), the sums and the transform in vector lanes
// over the pairs (pair by pair in scalars, this step was 13% of the 128→128 weight gradient at
// 4×4, batch 128, in perf).
void finish_weight_gradient(const float* w_hat, int64_t slots, float* gweight, const Conv2dShape& s) {
  const int64_t pairs = s.k * s.c, runs = (pairs + kFinishRun - 1) / kFinishRun;
  parallel_for(0, runs, grain_for(kEntries * slots * kFinishRun), [&](int64_t run_begin, int64_t run_end) {
    alignas(64) float x4[kEntries][kFinishRun];  // Ŵ of the run, entry by entry
    alignas(64) float g[9][kFinishRun];          // the run's filter gradients, tap by tap
    for (int64_t run = run_begin; run < run_end; ++run) {
      const int64_t kc0 = run * kFinishRun, count = std::min(kFinishRun, pairs - kc0);
      sum_slots(w_hat, pairs, slots, kc0, count, x4);
      filter_gradients(x4, g);
      float* out = gweight + kc0 * 9;
      for (int64_t j = 0; j < count; ++j) {
        for (int i = 0; i < 9; ++i) out[j * 9 + i] = g[i][j];
      }
    }
  });
}
}  // namespace

namespace {
// With several blocks, the weight gradient's V goes straight into the GEMM's packed-B layout
// (NR-channel panels, tile by tile within a panel: sgemm_packed_b) through a small stage in L1
// (≤ 32 channels × 16 tiles × 16 entries, 32 KiB), instead of channel-major rows that sgemm then
// transposed into panels on every call (pack_lanes: 11-14% of the 64→64 weight gradient at
// 32×32, batch 64, in perf; now a transposing store of ~7%).
constexpr int64_t kChunkTiles = 16;  // tiles per transformed chunk (a 32×32 plane's tile row)
constexpr int64_t kMaxPanelWidth = 32;
constexpr int64_t kStageStride = kMaxPanelWidth * kChunkTiles;  // floats per entry of the stage

// out[e · stride + i · ld + c] = stage[e · kStageStride + c · kChunkTiles + i] for i < tiles,
// c < channels: a chunk of V (channel-major in the stage) stored tile by tile, transposed 8 × 8
// in registers (stage lanes past tiles or channels are read, never stored).
KILN_VECTORIZE void store_stage_tile_major(const float* stage, int64_t tiles, int64_t channels, float* out, int64_t ld, int64_t stride) {
  constexpr int L = kLanes<Vec8>;
  for (int64_t e = 0; e < kEntries; ++e) {
    for (int64_t i0 = 0; i0 < tiles; i0 += L) {
      float* rows = out + e * stride + i0 * ld;
      for (int64_t h = 0; h < channels; h += L) {
        Vec8 v[L];  // v[c]: channel h + c at tiles i0 …; transposed, v[i]: tile i0 + i
        for (int c = 0; c < L; ++c) v[c] = load_vec<Vec8>(stage + e * kStageStride + (h + c) * kChunkTiles + i0);
        transpose8(v);
        for (int64_t i = 0; i < std::min<int64_t>(L, tiles - i0); ++i) store_lanes(rows + i * ld + h, v[i], channels - h);
      }
    }
  }
}

// V (16 entries, stride apart) of tiles [t0, t1) in panels of nr ≤ 32 channels: channel c of
// tile t at out[(c / nr) · panel_step + (t − t0) · nr + c % nr]. Panels cut across threads.
void transform_inputs_to_panels(const float* in, const Problem& p, int64_t t0, int64_t t1, int64_t nr, float* out,
                                int64_t panel_step, int64_t stride) {
  const int64_t panels = (p.in_channels + nr - 1) / nr;
  parallel_for(0, panels, 1, [&](int64_t q0, int64_t q1) {
    alignas(64) thread_local float stage[kEntries * kStageStride] = {};  // zeroed once: its slack lanes are read
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t c0 = q * nr, channels = std::min(nr, p.in_channels - c0);
      for (int64_t ta = t0; ta < t1; ta += kChunkTiles) {
        const int64_t tiles = std::min(kChunkTiles, t1 - ta);
        transform_input_channels(in, p, ta, ta + tiles, c0, c0 + channels, stage, kChunkTiles, kStageStride);
        store_stage_tile_major(stage, tiles, channels, out + q * panel_step + (ta - t0) * nr, nr, stride);
      }
    }
  });
}
}  // namespace

void winograd_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s) {
  const Problem p = forward_problem(s);
  const int64_t block = p.block(), blocks = p.blocks(), entries_size = kEntries * s.k * s.c;
  const int64_t slots = std::max<int64_t>(1, std::min(blocks, kWeightSlots));
  // Ŵ per slot: (16, k, c), written by each slot's first block (beta 0), not zero-filled first
  // (16 MiB at 512 channels).
  const std::unique_ptr<float[]> w_hat(new float[static_cast<size_t>(slots * entries_size)]);
  const double flops = 2.0 * kEntries * s.k * s.c * block * blocks / slots;
  // V in packed panels when the slots run in parallel (each product on one thread); a single
  // block keeps sgemm, whose products are cut across threads.
  const int64_t nr = sgemm_panel_width();
  const bool panels = slots > 1 && nr <= kMaxPanelWidth;
  parallel_for_balanced(0, slots, flops < 8.0e6 ? slots : 1, [&](int64_t slot_begin, int64_t slot_end) {
    const int64_t panel_step = block * nr, z_stride = entry_stride(s.k, block);
    const int64_t v_stride = panels ? (s.c + nr - 1) / nr * panel_step + kEntryPad : entry_stride(s.c, block);
    float* v = thread_buffer(kEntries * v_stride, 0);
    float* z = thread_buffer(kEntries * z_stride, 1);
    for (int64_t slot = slot_begin; slot < slot_end; ++slot) {
      float* target = w_hat.get() + slot * entries_size;
      const int64_t first_block = slot * blocks / slots;
      for (int64_t b = first_block; b < (slot + 1) * blocks / slots; ++b) {
        const int64_t t0 = b * block, t1 = std::min(p.tiles(), t0 + block);
        const float beta = b == first_block ? 0.0f : 1.0f;
        transform_output_gradients(gy, p, t0, t1, z, block);
        if (panels) {
          transform_inputs_to_panels(x, p, t0, t1, nr, v, panel_step, v_stride);
          for (int64_t e = 0; e < kEntries; ++e) {
            sgemm_packed_b(s.k, s.c, t1 - t0, z + e * z_stride, block, v + e * v_stride, panel_step, beta, target + e * s.k * s.c, s.c);
          }
        } else {
          transform_inputs(x, p, t0, t1, v, block);
          for (int64_t e = 0; e < kEntries; ++e) {
            sgemm(false, true, s.k, s.c, t1 - t0, 1.0f, z + e * z_stride, block, v + e * v_stride, block, beta, target + e * s.k * s.c, s.c);
          }
        }
      }
    }
  });
  finish_weight_gradient(w_hat.get(), slots, gweight, s);
}

#else
// Never chosen (winograd_supported is false); defined so the dispatch links everywhere.
void winograd_forward(const float* x, const float* weight, const float* bias, float* y, const Conv2dShape& s) {
  gemm_forward(x, weight, bias, y, s);
}
void winograd_backward_input(const float* gy, const float* weight, float* gx, const Conv2dShape& s) {
  gemm_backward_input(gy, weight, gx, s);
}
void winograd_backward_weight(const float* x, const float* gy, float* gweight, const Conv2dShape& s) {
  gemm_backward_weight(x, gy, gweight, s);
}
#endif
}  // namespace kiln::conv
