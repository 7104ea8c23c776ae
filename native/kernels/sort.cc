#include "sort.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

// Rows shorter than this are sorted by insertion instead of radix passes.
constexpr int64_t kInsertionSortMax = 48;
// top-k keeps a sorted buffer of the best k while scanning a row when k is at most this.
constexpr int64_t kBufferedTopkMax = 16;
// top-k sorts the whole row when k is more than n / kFullSortRatio.
constexpr int64_t kFullSortRatio = 16;
// top-k's buffered scan tests this many elements at a time against the buffer's worst.
constexpr int64_t kScanBlock = 64;

// A key whose unsigned order is the float order, NaN above +Infinity and -0 equal to +0.
// Branch-free, so loops over it vectorize. `invert` = ~0u reverses the order.
inline uint32_t order_key(float value, uint32_t invert) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint32_t magnitude = bits & 0x7FFFFFFFu;
  const uint32_t is_nan = magnitude > 0x7F800000u ? 0xFFFFFFFFu : 0u;
  bits = magnitude == 0 ? 0u : bits;
  const uint32_t flip = static_cast<uint32_t>(static_cast<int32_t>(bits) >> 31) | 0x80000000u;
  return ((bits ^ flip) | is_nan) ^ invert;
}

// Stable ascending sort of keys[0..n) carrying idx; uses the spare buffers of n entries.
// Returns which buffers hold the result: false → (keys, idx), true → (spare_keys, spare_idx).
bool radix_sort(uint32_t* keys, uint32_t* idx, uint32_t* spare_keys, uint32_t* spare_idx, int64_t n) {
  int64_t counts[4][256] = {};
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t key = keys[i];
    ++counts[0][key & 0xFF];
    ++counts[1][(key >> 8) & 0xFF];
    ++counts[2][(key >> 16) & 0xFF];
    ++counts[3][key >> 24];
  }
  bool swapped = false;
  for (int pass = 0; pass < 4; ++pass) {
    const int shift = pass * 8;
    int64_t* count = counts[pass];
    if (count[(keys[0] >> shift) & 0xFF] == n) continue;  // every key shares this digit
    int64_t start = 0;
    for (int digit = 0; digit < 256; ++digit) {
      const int64_t c = count[digit];
      count[digit] = start;
      start += c;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t to = count[(keys[i] >> shift) & 0xFF]++;
      spare_keys[to] = keys[i];
      spare_idx[to] = idx[i];
    }
    std::swap(keys, spare_keys);
    std::swap(idx, spare_idx);
    swapped = !swapped;
  }
  return swapped;
}

// Stable ascending insertion sort of keys[0..n) carrying idx (short rows).
void insertion_sort(uint32_t* keys, uint32_t* idx, int64_t n) {
  for (int64_t i = 1; i < n; ++i) {
    const uint32_t key = keys[i], position = idx[i];
    int64_t j = i;
    for (; j > 0 && keys[j - 1] > key; --j) {
      keys[j] = keys[j - 1];
      idx[j] = idx[j - 1];
    }
    keys[j] = key;
    idx[j] = position;
  }
}

// Per-thread buffers for sorting rows of n: keys, indices and their spares.
struct SortScratch {
  explicit SortScratch(int64_t n) : buffer(static_cast<size_t>(4 * n)) {}
  std::vector<uint32_t> buffer;
};

// Sorts one row x (n) by order_key(·, invert), ascending and stable; writes the first
// `count` results to values and indices.
KILN_VECTORIZE void sort_row(const float* x, int64_t n, uint32_t invert, SortScratch& scratch, float* values,
                             int32_t* indices, int64_t count) {
  uint32_t* keys = scratch.buffer.data();
  uint32_t* idx = keys + n;
  for (int64_t i = 0; i < n; ++i) {
    keys[i] = order_key(x[i], invert);
    idx[i] = static_cast<uint32_t>(i);
  }
  const uint32_t* sorted_idx = idx;
  if (n <= kInsertionSortMax) {
    insertion_sort(keys, idx, n);
  } else if (radix_sort(keys, idx, idx + n, idx + 2 * n, n)) {
    sorted_idx = idx + 2 * n;
  }
  for (int64_t i = 0; i < count; ++i) {
    indices[i] = static_cast<int32_t>(sorted_idx[i]);
    values[i] = x[sorted_idx[i]];
  }
}

// A rank whose larger values are better: the key, then the lower position.
inline uint64_t rank_of(uint32_t key, int64_t position) {
  return (static_cast<uint64_t>(key) << 32) | (0xFFFFFFFFu - static_cast<uint32_t>(position));
}
inline int64_t position_of(uint64_t rank) { return 0xFFFFFFFFu - static_cast<uint32_t>(rank); }

// True when some element of x[0..len) has a key above `threshold` (vectorizes).
inline bool any_key_above(const float* x, int64_t len, uint32_t invert, uint32_t threshold) {
  uint32_t any = 0;
  for (int64_t i = 0; i < len; ++i) any |= order_key(x[i], invert) > threshold ? 1u : 0u;
  return any != 0;
}

// top-k of one row for k <= kBufferedTopkMax: best holds the k best ranks seen so far in
// descending order; blocks with no key above the k-th best's are skipped after one vector test
// (an equal key loses, since it comes later in the row).
KILN_VECTORIZE void topk_row_buffered(const float* x, int64_t n, int64_t k, uint32_t invert, float* values,
                                      int32_t* indices) {
  uint64_t best[kBufferedTopkMax];
  int64_t filled = 0;
  auto offer = [&](int64_t i) {
    const uint64_t rank = rank_of(order_key(x[i], invert), i);
    if (filled == k && rank <= best[k - 1]) return;
    int64_t j = filled < k ? filled++ : k - 1;
    for (; j > 0 && best[j - 1] < rank; --j) best[j] = best[j - 1];
    best[j] = rank;
  };
  int64_t i = 0;
  for (; i < n && filled < k; ++i) offer(i);
  for (; i < n; i += kScanBlock) {
    const int64_t len = std::min(kScanBlock, n - i);
    if (!any_key_above(x + i, len, invert, static_cast<uint32_t>(best[k - 1] >> 32))) continue;
    for (int64_t j = i; j < i + len; ++j) offer(j);
  }
  for (int64_t j = 0; j < k; ++j) {
    indices[j] = static_cast<int32_t>(position_of(best[j]));
    values[j] = x[indices[j]];
  }
}

// top-k of one row by selection: the k best ranks partitioned to the front, then sorted.
void topk_row_selected(const float* x, int64_t n, int64_t k, uint32_t invert, std::vector<uint64_t>& ranks,
                       float* values, int32_t* indices) {
  ranks.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ranks[i] = rank_of(order_key(x[i], invert), i);
  std::nth_element(ranks.begin(), ranks.begin() + (k - 1), ranks.end(), std::greater<uint64_t>());
  std::sort(ranks.begin(), ranks.begin() + k, std::greater<uint64_t>());
  for (int64_t j = 0; j < k; ++j) {
    indices[j] = static_cast<int32_t>(position_of(ranks[j]));
    values[j] = x[indices[j]];
  }
}

}  // namespace

void sort_rows(const float* x, float* values, int32_t* indices, int64_t rows, int64_t n, bool descending) {
  if (n == 0) return;
  const uint32_t invert = descending ? 0xFFFFFFFFu : 0u;
  parallel_for_balanced(0, rows, grain_for(8 * n), [=](int64_t begin, int64_t end) {
    SortScratch scratch(n);
    for (int64_t r = begin; r < end; ++r) sort_row(x + r * n, n, invert, scratch, values + r * n, indices + r * n, n);
  });
}

void topk_rows(const float* x, float* values, int32_t* indices, int64_t rows, int64_t n, int64_t k, bool largest) {
  if (k == 0 || n == 0) return;
  // The sort and the selection rank the best first: largest → descending keys.
  const uint32_t sort_invert = largest ? 0xFFFFFFFFu : 0u;
  const uint32_t rank_invert = largest ? 0u : 0xFFFFFFFFu;
  const bool full_sort = k * kFullSortRatio > n;
  parallel_for_balanced(0, rows, grain_for(full_sort ? 8 * n : n), [=](int64_t begin, int64_t end) {
    SortScratch scratch(full_sort ? n : 0);
    std::vector<uint64_t> ranks;
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x + r * n;
      float* row_values = values + r * k;
      int32_t* row_indices = indices + r * k;
      if (full_sort) sort_row(row, n, sort_invert, scratch, row_values, row_indices, k);
      else if (k <= kBufferedTopkMax) topk_row_buffered(row, n, k, rank_invert, row_values, row_indices);
      else topk_row_selected(row, n, k, rank_invert, ranks, row_values, row_indices);
    }
  });
}

}  // namespace kiln
