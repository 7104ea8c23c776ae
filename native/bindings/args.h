// Reading and checking the arguments of a binding call.
//
// Bindings use node-addon-api for registration and plain N-API calls on the hot path: a
// Napi::CallbackInfo heap-allocates for more than six arguments, and every check here must
// cost nanoseconds on success. Nothing on the success path allocates or formats strings.
//
// Usage: read every argument, check sizes, then `if (!args.ok()) return nullptr;`. The first
// failed check throws a TypeError or RangeError "function: message"; later checks of the same
// call then do nothing, and reads return empty values. The size, view and overlap checks are
// those of checks.h (pure C++, fuzzed in native/fuzz/), reported as RangeErrors.
#pragma once

#include <napi.h>

#include "checks.h"

#include <cstdarg>
#include <cstdint>
#include <initializer_list>

namespace kiln::bindings {

// The most arguments any binding takes.
constexpr size_t kMaxArgs = 23;

// A typed array's data and element count, read zero-copy.
template <typename T>
struct Array {
  T* data = nullptr;
  int64_t length = 0;
};

class Args {
 public:
  // Reads the call's arguments; throws a TypeError unless there are exactly expected_count.
  Args(napi_env env, napi_callback_info info, const char* function, size_t expected_count);

  bool ok() const { return ok_; }
  // The binding's name, as errors start.
  const char* function() const { return function_; }

  // Typed arrays of exactly this element type (a Float64Array is not a Float32Array).
  Array<float> float32(size_t index, const char* name);
  Array<int32_t> int32(size_t index, const char* name);
  Array<uint8_t> uint8(size_t index, const char* name);
  Array<uint16_t> uint16(size_t index, const char* name);  // bfloat16 / float16 bit patterns

  // The Int32Array in property `key` of the object argument `index` (e.g. plan.shape), copied
  // into `storage` (at most `capacity` entries; the result points there). A getter runs JS that
  // may detach or refill any array, so read properties before typed-array arguments and keep
  // only the copy.
  Array<int32_t> int32_property(size_t index, const char* key, const char* name, int32_t* storage, int64_t capacity);

  // Checks that output `written` shares no byte with input `read`, which the kernel reads after
  // it starts writing (an index overwritten mid-call would be read out of range).
  template <typename W, typename R>
  void require_disjoint(const char* written_name, const Array<W>& written, const char* read_name, const Array<R>& read) {
    require_disjoint_bytes(written_name, written.data, written.length * static_cast<int64_t>(sizeof(W)), read_name,
                           read.data, read.length * static_cast<int64_t>(sizeof(R)));
  }

  // A size: an integer in [0, kMaxSafeInteger].
  int64_t size(size_t index, const char* name);
  // An integer in [min, max].
  int64_t integer(size_t index, const char* name, int64_t min, int64_t max);
  // Any number but NaN.
  double number(size_t index, const char* name);
  bool boolean(size_t index, const char* name);
  // The position in `choices` of the string argument (e.g. gemmPrecision: 'float32' or
  // 'bfloat16'); a TypeError for a non-string, a RangeError naming the choices for another string.
  int32_t choice(size_t index, const char* name, std::initializer_list<const char*> choices);
  // An op code: an integer in [0, count).
  int32_t op_code(size_t index, int32_t count) { return static_cast<int32_t>(integer(index, "op", 0, count - 1)); }
  bool is_null(size_t index) const;

  // The product of `sizes`, or -1 (having thrown a RangeError) when it exceeds
  // kMaxSafeInteger. Zero factors are skipped when checking, so every partial product of the
  // sizes is bounded too.
  int64_t product(std::initializer_list<NamedSize> sizes);

  // Checks that the product of `sizes`, counting a zero as one (a loop over a huge dim of
  // empty rows still takes its steps), is at most kMaxWork; else throws a RangeError naming
  // `what` and the sizes.
  void require_work(const char* what, std::initializer_list<NamedSize> sizes);

  // Checks that array `name` holds exactly the product of `sizes` elements.
  void require_elements(const char* name, int64_t length, std::initializer_list<NamedSize> sizes);

  // Checks that two arrays have the same length.
  void require_same_length(const char* name, int64_t length, const char* other_name, int64_t other_length);

  // Checks a strided view of `ndim` dims into array `name` (`length` elements): shape and
  // strides have ndim entries, at most kMaxDims, shape entries are >= 0, and unless the view
  // is empty every element it reaches is inside the array. Returns the view's element count.
  int64_t check_view(const char* name, int64_t length, int64_t offset, const Array<int32_t>& shape,
                     const Array<int32_t>& strides);

  void require_disjoint_bytes(const char* written_name, const void* written, int64_t written_bytes,
                              const char* read_name, const void* read, int64_t read_bytes);

  // Throws a RangeError "function: <problem's message>" when the problem was found.
  void report(const Problem& problem);

  // Throw "function: <formatted message>" unless something was thrown already.
  void type_error(const char* format, ...);
  void range_error(const char* format, ...);

 private:
  using ErrorThrower = napi_status (*)(napi_env env, const char* code, const char* message);
  void throw_error(ErrorThrower thrower, const char* format, va_list arguments);

  // Typed array argument `value` of type `expected`, or an empty Array after a TypeError.
  Array<void> typed_array(napi_value value, napi_typedarray_type expected, const char* name);

  napi_env env_;
  const char* function_;
  napi_value argv_[kMaxArgs];
  size_t argc_ = kMaxArgs;
  bool ok_ = true;
};

// Defines exports[name] as a native function, or does nothing, without throwing, when N-API
// refuses (a worker terminated while the addon loads: every later call is refused too).
void export_function(Napi::Env env, Napi::Object exports, const char* name, napi_callback callback);

}  // namespace kiln::bindings
