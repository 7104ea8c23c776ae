// The size, view and overlap checks a binding runs on its arguments before a kernel starts,
// as pure C++ (no N-API): Args (args.h) turns a failed check into a RangeError, and the fuzz
// targets in native/fuzz/ call these functions directly, beside a wide-integer oracle.
//
// Each check returns its result and, when the arguments fail it, fills a Problem with the
// reason (without the binding's name, which Args puts in front).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::bindings {

// Number.MAX_SAFE_INTEGER: the largest size a binding accepts, and the bound for products of
// sizes (so no size arithmetic in a kernel can overflow int64_t).
constexpr int64_t kMaxSafeInteger = 9007199254740991;

// The most steps one binding call may take (multiply-adds, visited rows, kernel taps) and the
// most elements it may touch: 2^48, hours of work on any machine. Sizes beyond it are
// rejected up front (work_within_limit) instead of hanging or aborting the process.
constexpr int64_t kMaxWork = int64_t{1} << 48;

// A named size, for messages: {"outer", outer}.
struct NamedSize {
  const char* name;
  int64_t value;
};

// Why a check failed. The first failure is kept; later ones are ignored. (The message is left
// uninitialized until a failure: checks run on every call and must cost nanoseconds.)
struct Problem {
  bool found = false;
  char message[400];  // valid when found

  // Records a printf-style reason, unless one was recorded already.
  void describe(const char* format, ...) __attribute__((format(printf, 2, 3)));
};

// The product of sizes[0..count), or -1 (with a Problem) when the product of its non-zero
// factors exceeds kMaxSafeInteger (so every partial product is bounded too). Sizes are >= 0.
int64_t checked_product(const NamedSize* sizes, size_t count, Problem& problem);

// Whether the product of sizes[0..count), counting a size below one as one (a loop over a
// huge dim of empty rows still takes its steps), is at most kMaxWork; else a Problem naming
// `what` and the sizes.
bool work_within_limit(const char* what, const NamedSize* sizes, size_t count, Problem& problem);

// Whether array `name` of `length` elements holds exactly the product of the sizes.
bool elements_match(const char* name, int64_t length, const NamedSize* sizes, size_t count, Problem& problem);

// A strided view starting at element `offset` of array `name` (`length` elements), with
// `shape_count` sizes and `stride_count` strides. Checks that both counts are equal and at
// most kMaxDims, the offset and length are in [0, kMaxSafeInteger], sizes are >= 0, the element count is at most kMaxSafeInteger, and, unless
// the view is empty, that every element it reaches lies in [0, length). Returns the element
// count (0 after a Problem).
int64_t view_elements(const char* name, int64_t length, int64_t offset, const int32_t* shape, int64_t shape_count,
                      const int32_t* strides, int64_t stride_count, Problem& problem);

// Whether byte ranges [written, written + written_bytes) and [read, read + read_bytes) are
// disjoint (an output may not share bytes with an input the kernel reads after it starts
// writing); else a Problem naming both.
bool bytes_disjoint(const char* written_name, const void* written, int64_t written_bytes, const char* read_name,
                    const void* read, int64_t read_bytes, Problem& problem);

// "outer=2, n=3, inner=4", cut to fit `capacity` bytes (including the terminating zero).
void format_sizes(char* buffer, size_t capacity, const NamedSize* sizes, size_t count);

}  // namespace kiln::bindings
