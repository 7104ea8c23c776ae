#include "checks.h"

#include "../kernels/strided_rows.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace kiln::bindings {

void Problem::describe(const char* format, ...) {
  if (found) return;
  found = true;
  va_list arguments;
  va_start(arguments, format);
  std::vsnprintf(message, sizeof message, format, arguments);
  va_end(arguments);
}

void format_sizes(char* buffer, size_t capacity, const NamedSize* sizes, size_t count) {
  if (capacity == 0) return;
  size_t used = 0;
  buffer[0] = '\0';
  for (size_t i = 0; i < count && used < capacity; ++i) {
    const int written = std::snprintf(buffer + used, capacity - used, "%s%s=%lld", used == 0 ? "" : ", ",
                                      sizes[i].name, static_cast<long long>(sizes[i].value));
    if (written < 0) break;
    used += static_cast<size_t>(written);
  }
}

int64_t checked_product(const NamedSize* sizes, size_t count, Problem& problem) {
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (size_t i = 0; i < count; ++i) {
    const int64_t size = sizes[i].value;
    if (size == 0) {
      has_zero = true;
    } else if (nonzero_product > kMaxSafeInteger / size) {
      char described[256];
      format_sizes(described, sizeof described, sizes, count);
      problem.describe("sizes %s are too large: their product exceeds 2^53", described);
      return -1;
    } else {
      nonzero_product *= size;
    }
  }
  return has_zero ? 0 : nonzero_product;
}

bool work_within_limit(const char* what, const NamedSize* sizes, size_t count, Problem& problem) {
  int64_t steps = 1;
  for (size_t i = 0; i < count; ++i) {
    const int64_t factor = sizes[i].value > 1 ? sizes[i].value : 1;
    if (steps > kMaxWork / factor) {
      char described[256];
      format_sizes(described, sizeof described, sizes, count);
      problem.describe("sizes %s are too large: %s would take more than 2^48 steps", described, what);
      return false;
    }
    steps *= factor;
  }
  return true;
}

bool elements_match(const char* name, int64_t length, const NamedSize* sizes, size_t count, Problem& problem) {
  const int64_t needed = checked_product(sizes, count, problem);
  if (needed < 0 || length == needed) return needed >= 0;
  char described[256];
  format_sizes(described, sizeof described, sizes, count);
  problem.describe("%s has %lld elements but %s needs %lld", name, static_cast<long long>(length), described,
                   static_cast<long long>(needed));
  return false;
}

int64_t view_elements(const char* name, int64_t length, int64_t offset, const int32_t* shape, int64_t shape_count,
                      const int32_t* strides, int64_t stride_count, Problem& problem) {
  if (shape_count != stride_count) {
    problem.describe("shape has %lld entries but strides has %lld", static_cast<long long>(shape_count),
                     static_cast<long long>(stride_count));
    return 0;
  }
  if (offset < 0 || offset > kMaxSafeInteger || length < 0 || length > kMaxSafeInteger) {
    problem.describe("offset %lld and %s's length %lld must be in [0, 2^53)", static_cast<long long>(offset), name,
                     static_cast<long long>(length));
    return 0;
  }
  if (shape_count > kMaxDims) {
    problem.describe("shape has %lld dims; at most %lld are supported", static_cast<long long>(shape_count),
                     static_cast<long long>(kMaxDims));
    return 0;
  }
  // lowest / highest: the extreme offsets the view reaches. Each term is below 2^62 in
  // magnitude; saturating the sums just past 2^53 keeps them from overflowing.
  int64_t count = 1;
  int64_t lowest = offset;
  int64_t highest = offset;
  for (int64_t d = 0; d < shape_count; ++d) {
    const int64_t extent = shape[d];
    if (extent < 0) {
      problem.describe("shape[%lld] is %lld; sizes must be >= 0", static_cast<long long>(d),
                       static_cast<long long>(extent));
      return 0;
    }
    if (extent == 0) count = 0;
    if (count > 0 && count > kMaxSafeInteger / extent) {
      problem.describe("the view of %lld dims has more than 2^53 elements", static_cast<long long>(shape_count));
      return 0;
    }
    count *= extent;
    const int64_t reach = (extent - 1) * static_cast<int64_t>(strides[d]);
    if (reach > 0) highest = std::min(highest + reach, kMaxSafeInteger + 1);
    if (reach < 0) lowest = std::max(lowest + reach, -kMaxSafeInteger - 1);
  }
  if (count > 0 && (lowest < 0 || highest >= length)) {
    problem.describe("the view reaches %s elements %lld to %lld (offset=%lld) but %s has %lld elements", name,
                     static_cast<long long>(lowest), static_cast<long long>(highest), static_cast<long long>(offset),
                     name, static_cast<long long>(length));
    return 0;
  }
  return count;
}

bool bytes_disjoint(const char* written_name, const void* written, int64_t written_bytes, const char* read_name,
                    const void* read, int64_t read_bytes, Problem& problem) {
  if (written_bytes == 0 || read_bytes == 0) return true;
  const auto w = reinterpret_cast<uintptr_t>(written);
  const auto r = reinterpret_cast<uintptr_t>(read);
  if (w < r + static_cast<uintptr_t>(read_bytes) && r < w + static_cast<uintptr_t>(written_bytes)) {
    problem.describe("%s overlaps %s in memory; an output may not share bytes with an input it reads", written_name,
                     read_name);
    return false;
  }
  return true;
}

}  // namespace kiln::bindings
