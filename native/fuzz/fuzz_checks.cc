// libFuzzer target: the argument checks every binding runs before a kernel
// (native/bindings/checks.h: size products, work limits, element counts, strided views, output
// overlaps), each against an oracle in 128-bit arithmetic. A view that passes its check is then
// copied and scattered by the real kernels (native/kernels/strided.cc) over an array of exactly
// the checked length, so AddressSanitizer catches any element a check let through out of bounds,
// and the copy is compared with a naive one.
//
// Input: one byte picks the check, then its arguments follow (fuzz_input.h decodes them).
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "checks.h"
#include "fuzz_input.h"
#include "strided.h"
#include "strided_rows.h"

namespace {

using kiln::bindings::kMaxSafeInteger;
using kiln::bindings::kMaxWork;
using kiln::bindings::NamedSize;
using kiln::bindings::Problem;
using kiln::fuzz::expect;
using kiln::fuzz::FuzzInput;
using Wide = __int128;

// Saturates products of up to 64 factors below 2^31 (and sizes below 2^63) without overflow.
constexpr Wide kSaturated = Wide{1} << 100;

Wide saturating_multiply(Wide a, Wide b) { return b != 0 && a > kSaturated / b ? kSaturated : a * b; }

// Long names too, so messages are cut to fit their buffers.
const char* size_name(FuzzInput& in) {
  static const std::string long_name(300, 'n');
  static const char* names[] = {"n", "outer", "c / groups", "h + padTop + padBottom", long_name.c_str()};
  return names[in.pick(5)];
}

std::vector<NamedSize> read_sizes(FuzzInput& in, bool any_sign) {
  std::vector<NamedSize> sizes(in.pick(9));
  for (NamedSize& size : sizes) {
    const int64_t value = in.edgy_int64();
    size = {size_name(in), any_sign || value >= 0 ? value : -(value + 1)};
  }
  return sizes;
}

void fuzz_product(FuzzInput& in) {
  const std::vector<NamedSize> sizes = read_sizes(in, false);
  Wide nonzero = 1;
  bool has_zero = false;
  for (const NamedSize& size : sizes) {
    if (size.value == 0) has_zero = true;
    else nonzero = saturating_multiply(nonzero, size.value);
  }
  Problem problem;
  const int64_t result = kiln::bindings::checked_product(sizes.data(), sizes.size(), problem);
  if (nonzero <= kMaxSafeInteger) {
    expect(!problem.found && result == (has_zero ? 0 : static_cast<int64_t>(nonzero)), "checked_product of sizes within 2^53");
  } else {
    expect(problem.found && result == -1 && std::strstr(problem.message, "exceeds 2^53"), "checked_product past 2^53");
  }
  const int64_t length = in.pick(2) == 0 && result >= 0 ? result : in.edgy_int64();
  Problem count_problem;
  const bool matches = kiln::bindings::elements_match("x", length, sizes.data(), sizes.size(), count_problem);
  expect(matches == (result >= 0 && length == result) && matches != count_problem.found, "elements_match");
}

void fuzz_work(FuzzInput& in) {
  const std::vector<NamedSize> sizes = read_sizes(in, true);
  Wide steps = 1;
  for (const NamedSize& size : sizes) steps = saturating_multiply(steps, size.value > 1 ? size.value : 1);
  Problem problem;
  const bool within = kiln::bindings::work_within_limit("conv2d", sizes.data(), sizes.size(), problem);
  expect(within == (steps <= kMaxWork) && within != problem.found, "work_within_limit");
}

// The offset of contiguous element `flat` of a view, by index decomposition.
int64_t naive_view_offset(const std::vector<int32_t>& shape, const std::vector<int32_t>& strides, int64_t offset,
                          int64_t flat) {
  for (size_t d = shape.size(); d-- > 0;) {
    offset += (flat % shape[d]) * int64_t{strides[d]};
    flat /= shape[d];
  }
  return offset;
}

// Copies and scatters through a view the check passed, over an array of exactly `length`
// elements; compares the copy with naive index decomposition.
void run_strided_kernels(const std::vector<int32_t>& shape, const std::vector<int32_t>& strides, int64_t offset,
                         int64_t length, int64_t count) {
  std::unique_ptr<float[]> array(new float[length]);
  for (int64_t i = 0; i < length; ++i) array[i] = static_cast<float>(i);
  std::unique_ptr<float[]> contiguous(new float[count]);
  const kiln::StridedView view{static_cast<int64_t>(shape.size()), shape.data(), strides.data(), offset};
  kiln::strided_copy(array.get(), view, contiguous.get());
  for (int64_t i = 0; i < count; ++i) {
    expect(contiguous[i] == static_cast<float>(naive_view_offset(shape, strides, offset, i)), "strided_copy vs naive");
  }
  kiln::strided_scatter(contiguous.get(), array.get(), view, true);
  kiln::strided_scatter(contiguous.get(), array.get(), view, false);
}

void fuzz_view(FuzzInput& in) {
  const int64_t ndim = in.pick(4) == 0 ? in.pick(70) : in.pick(6);
  const int64_t stride_count = in.pick(16) == 0 ? in.pick(70) : ndim;
  std::vector<int32_t> shape(ndim);
  std::vector<int32_t> strides(stride_count);
  for (int32_t& size : shape) size = in.pick(4) == 0 ? in.int32() : static_cast<int32_t>(in.pick(6));
  for (int32_t& stride : strides) stride = in.pick(4) == 0 ? in.int32() : static_cast<int8_t>(in.byte()) % 8;
  const int64_t offset = in.pick(4) == 0 ? in.edgy_int64() : in.pick(64);
  const int64_t length = in.pick(4) == 0 ? in.edgy_int64() : in.pick(256);

  bool valid = ndim == stride_count && ndim <= kiln::kMaxDims && offset >= 0 && offset <= kMaxSafeInteger &&
               length >= 0 && length <= kMaxSafeInteger;
  Wide count = 1;
  Wide lowest = offset;
  Wide highest = offset;
  bool empty = false;
  for (int64_t d = 0; valid && d < ndim; ++d) {
    if (shape[d] < 0) valid = false;
    if (shape[d] == 0) empty = true;
    if (!empty) count *= shape[d];
    if (count > kMaxSafeInteger) valid = false;
    const Wide reach = Wide{shape[d] - int64_t{1}} * strides[d];
    (reach > 0 ? highest : lowest) += reach;
  }
  if (valid && !empty && (lowest < 0 || highest >= length)) valid = false;

  Problem problem;
  const int64_t checked = kiln::bindings::view_elements("x", length, offset, shape.data(), ndim, strides.data(),
                                                        stride_count, problem);
  expect(valid != problem.found, "view_elements accepts exactly the views inside the array");
  if (!valid) return;
  expect(checked == (empty ? 0 : static_cast<int64_t>(count)), "view_elements counts the view's elements");
  if (checked > 0 && checked <= 4096 && length <= (1 << 16)) run_strided_kernels(shape, strides, offset, length, checked);
}

void fuzz_overlap(FuzzInput& in) {
  static char arena[1];
  // Byte ranges in a made-up address range from the arena on (pointers are only compared).
  const int64_t written_at = in.int32() & 0xffffff;
  const int64_t written_bytes = in.int32() & 0xffffff;
  const int64_t read_at = in.int32() & 0xffffff;
  const int64_t read_bytes = in.int32() & 0xffffff;
  const auto base = reinterpret_cast<uintptr_t>(arena);
  const auto* written = reinterpret_cast<const void*>(base + written_at);
  const auto* read = reinterpret_cast<const void*>(base + read_at);
  const bool overlap = written_bytes > 0 && read_bytes > 0 && written_at < read_at + read_bytes &&
                       read_at < written_at + written_bytes;
  Problem problem;
  const bool disjoint = kiln::bindings::bytes_disjoint("out", written, written_bytes, "idx", read, read_bytes, problem);
  expect(disjoint == !overlap && disjoint != problem.found, "bytes_disjoint");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  switch (in.pick(4)) {
    case 0: fuzz_product(in); break;
    case 1: fuzz_work(in); break;
    case 2: fuzz_view(in); break;
    default: fuzz_overlap(in); break;
  }
  return 0;
}
