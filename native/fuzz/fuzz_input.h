// Reading a libFuzzer input as a stream of typed values, for the fuzz targets in this folder.
// Past the end of the input every read returns zeros, so any input decodes to some call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kiln::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }

  // An integer in [0, count), count >= 1.
  uint32_t pick(uint32_t count) { return byte() % count; }

  int32_t int32() { return static_cast<int32_t>(raw(4)); }
  int64_t int64() { return static_cast<int64_t>(raw(8)); }

  // A size chosen to reach the checks' edges often: small, near 2^31, 2^48 or 2^53, a power
  // of two plus or minus a little, or any 64-bit value.
  int64_t edgy_int64() {
    switch (pick(6)) {
      case 0: return byte() % 9;
      case 1: return (int64_t{1} << 31) - 1 - byte() % 4;
      case 2: return (int64_t{1} << 48) + static_cast<int8_t>(byte());
      case 3: return (int64_t{1} << 53) + static_cast<int8_t>(byte());
      case 4: return (int64_t{1} << (byte() % 63)) + static_cast<int8_t>(byte());
      default: return int64();
    }
  }

 private:
  // `bytes` little-endian bytes of the input as an unsigned integer.
  uint64_t raw(int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(byte()) << (8 * i);
    return value;
  }

  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

// Stops the fuzz run (libFuzzer then saves the input that did it) when a check and its oracle
// disagree.
inline void expect(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz: oracle disagrees: %s\n", what);
  std::abort();
}

}  // namespace kiln::fuzz
