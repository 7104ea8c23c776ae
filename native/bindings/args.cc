#include "args.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>

namespace kiln::bindings {
namespace {

const char* typed_array_name(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
  }
  return "typed array";
}

// What a JS value is, for error messages: "Float64Array", "Array", "number", "undefined", ...
const char* describe(napi_env env, napi_value value) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return "unknown";
  switch (type) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
    case napi_object: break;
  }
  bool flag = false;
  if (napi_is_typedarray(env, value, &flag) == napi_ok && flag) {
    napi_typedarray_type array_type;
    size_t length;
    napi_get_typedarray_info(env, value, &array_type, &length, nullptr, nullptr, nullptr);
    return typed_array_name(array_type);
  }
  if (napi_is_array(env, value, &flag) == napi_ok && flag) return "Array";
  return "object";
}

}  // namespace

Args::Args(napi_env env, napi_callback_info info, const char* function, size_t expected_count)
    : env_(env), function_(function) {
  if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr) != napi_ok) {
    argc_ = 0;
  }
  if (argc_ != expected_count) {
    type_error("expected %zu arguments, got %zu", expected_count, argc_);
  }
}

Array<void> Args::typed_array(napi_value value, napi_typedarray_type expected, const char* name) {
  Array<void> array;
  if (!ok_) return array;
  napi_typedarray_type type;
  size_t length;
  void* data;
  // napi_get_typedarray_info fails (without throwing) for anything but a typed array.
  if (napi_get_typedarray_info(env_, value, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != expected) {
    type_error("%s must be a%s %s, got %s", name, expected == napi_int32_array ? "n" : "", typed_array_name(expected),
               describe(env_, value));
    return array;
  }
  array.data = data;
  array.length = static_cast<int64_t>(length);
  return array;
}

Array<float> Args::float32(size_t index, const char* name) {
  Array<void> array = typed_array(argv_[index], napi_float32_array, name);
  return {static_cast<float*>(array.data), array.length};
}

Array<int32_t> Args::int32(size_t index, const char* name) {
  Array<void> array = typed_array(argv_[index], napi_int32_array, name);
  return {static_cast<int32_t*>(array.data), array.length};
}

Array<uint8_t> Args::uint8(size_t index, const char* name) {
  Array<void> array = typed_array(argv_[index], napi_uint8_array, name);
  return {static_cast<uint8_t*>(array.data), array.length};
}

Array<uint16_t> Args::uint16(size_t index, const char* name) {
  Array<void> array = typed_array(argv_[index], napi_uint16_array, name);
  return {static_cast<uint16_t*>(array.data), array.length};
}

Array<int32_t> Args::int32_property(size_t index, const char* key, const char* name, int32_t* storage,
                                    int64_t capacity) {
  if (!ok_) return {};
  napi_valuetype type;
  napi_value property;
  if (napi_typeof(env_, argv_[index], &type) != napi_ok || type != napi_object ||
      napi_get_named_property(env_, argv_[index], key, &property) != napi_ok) {
    // A getter may have thrown; report that exception rather than ours.
    bool pending = false;
    napi_is_exception_pending(env_, &pending);
    if (pending) {
      ok_ = false;
    } else {
      type_error("%s must be an object with Int32Array '%s', got %s", name, key, describe(env_, argv_[index]));
    }
    return {};
  }
  Array<void> array = typed_array(property, napi_int32_array, name);
  if (!ok_) return {};
  if (array.length > capacity) {
    range_error("%s has %lld entries; at most %lld are supported", name, static_cast<long long>(array.length),
                static_cast<long long>(capacity));
    return {};
  }
  std::copy_n(static_cast<const int32_t*>(array.data), array.length, storage);
  return {storage, array.length};
}

void Args::require_disjoint_bytes(const char* written_name, const void* written, int64_t written_bytes,
                                  const char* read_name, const void* read, int64_t read_bytes) {
  if (!ok_) return;
  Problem problem;
  if (!bytes_disjoint(written_name, written, written_bytes, read_name, read, read_bytes, problem)) report(problem);
}

int64_t Args::integer(size_t index, const char* name, int64_t min, int64_t max) {
  if (!ok_) return 0;
  double value;
  if (napi_get_value_double(env_, argv_[index], &value) != napi_ok) {
    type_error("%s must be a number, got %s", name, describe(env_, argv_[index]));
    return 0;
  }
  if (!(value >= static_cast<double>(min) && value <= static_cast<double>(max)) || std::floor(value) != value) {
    range_error("%s must be an integer in [%lld, %lld], got %g", name, static_cast<long long>(min),
                static_cast<long long>(max), value);
    return 0;
  }
  return static_cast<int64_t>(value);
}

int64_t Args::size(size_t index, const char* name) { return integer(index, name, 0, kMaxSafeInteger); }

double Args::number(size_t index, const char* name) {
  if (!ok_) return 0;
  double value;
  if (napi_get_value_double(env_, argv_[index], &value) != napi_ok) {
    type_error("%s must be a number, got %s", name, describe(env_, argv_[index]));
    return 0;
  }
  if (std::isnan(value)) {
    range_error("%s must not be NaN", name);
    return 0;
  }
  return value;
}

bool Args::boolean(size_t index, const char* name) {
  if (!ok_) return false;
  bool value;
  if (napi_get_value_bool(env_, argv_[index], &value) != napi_ok) {
    type_error("%s must be a boolean, got %s", name, describe(env_, argv_[index]));
    return false;
  }
  return value;
}

int32_t Args::choice(size_t index, const char* name, std::initializer_list<const char*> choices) {
  if (!ok_) return 0;
  char text[32];
  size_t length = 0;
  if (napi_get_value_string_utf8(env_, argv_[index], text, sizeof text, &length) != napi_ok) {
    type_error("%s must be a string, got %s", name, describe(env_, argv_[index]));
    return 0;
  }
  std::string expected;
  int32_t position = 0;
  for (const char* option : choices) {
    if (length == std::strlen(option) && std::strcmp(text, option) == 0) return position;
    expected += (position++ == 0 ? "'" : ", '") + std::string(option) + "'";
  }
  range_error("%s must be one of %s, got '%s%s'", name, expected.c_str(), text, length + 1 == sizeof text ? "…" : "");
  return 0;
}

bool Args::is_null(size_t index) const {
  if (!ok_) return false;
  napi_valuetype type;
  return napi_typeof(env_, argv_[index], &type) == napi_ok && type == napi_null;
}

int64_t Args::product(std::initializer_list<NamedSize> sizes) {
  if (!ok_) return -1;
  Problem problem;
  const int64_t result = checked_product(sizes.begin(), sizes.size(), problem);
  report(problem);
  return result;
}

void Args::require_work(const char* what, std::initializer_list<NamedSize> sizes) {
  if (!ok_) return;
  Problem problem;
  if (!work_within_limit(what, sizes.begin(), sizes.size(), problem)) report(problem);
}

void Args::require_elements(const char* name, int64_t length, std::initializer_list<NamedSize> sizes) {
  if (!ok_) return;
  Problem problem;
  if (!elements_match(name, length, sizes.begin(), sizes.size(), problem)) report(problem);
}

void Args::require_same_length(const char* name, int64_t length, const char* other_name, int64_t other_length) {
  if (ok_ && length != other_length) {
    range_error("%s has %lld elements but %s has %lld", name, static_cast<long long>(length), other_name,
                static_cast<long long>(other_length));
  }
}

int64_t Args::check_view(const char* name, int64_t length, int64_t offset, const Array<int32_t>& shape,
                         const Array<int32_t>& strides) {
  if (!ok_) return 0;
  Problem problem;
  const int64_t count =
      view_elements(name, length, offset, shape.data, shape.length, strides.data, strides.length, problem);
  report(problem);
  return count;
}

void Args::report(const Problem& problem) {
  if (problem.found) range_error("%s", problem.message);
}

void Args::type_error(const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  throw_error(napi_throw_type_error, format, arguments);
  va_end(arguments);
}

void Args::range_error(const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  throw_error(napi_throw_range_error, format, arguments);
  va_end(arguments);
}

void Args::throw_error(ErrorThrower thrower, const char* format, va_list arguments) {
  if (!ok_) return;
  ok_ = false;
  char message[512];
  int prefix = std::snprintf(message, sizeof message, "%s: ", function_);
  std::vsnprintf(message + prefix, sizeof message - prefix, format, arguments);
  thrower(env_, nullptr, message);
}

void export_function(Napi::Env env, Napi::Object exports, const char* name, napi_callback callback) {
  // Plain N-API with statuses checked: in a worker being terminated these calls fail, and
  // throwing then (as node-addon-api's helpers do) aborts the whole process.
  napi_value function;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, nullptr, &function) != napi_ok) return;
  napi_set_named_property(env, exports, name, function);
}

}  // namespace kiln::bindings
