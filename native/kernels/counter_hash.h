// Counter-based random bits for dropout masks: a keep decision is a pure function of
// (seed, row, column), so a backward pass regenerates its forward's mask instead of storing
// it, and any element can be computed on any thread in any order.
//
// keep(seed, row, col) = mix(key ^ mix(col + low(seed))) >> 8 ≥ threshold, with
// key = mix(low(row) ^ mix(high(row) ^ high(seed))) (32-bit wrapping arithmetic; mix is the
// multiply–xorshift below). A weight is dropped with probability threshold / 2²⁴.
// lib/backend/reference/counter-hash.ts computes the same bits.
#pragma once

#include <cstdint>

namespace kiln {

// A 32-bit integer hash with full avalanche (the "lowbias32" multiply–xorshift constants of
// Wellons' hash-prospector search).
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// The per-row part of the hash (constant along a row, computed once per row).
inline uint32_t counter_row_key(uint64_t seed, uint64_t row) {
  return mix32(static_cast<uint32_t>(row) ^ mix32(static_cast<uint32_t>(row >> 32) ^ static_cast<uint32_t>(seed >> 32)));
}

// Whether element (row, col) is kept, given its row's key.
inline bool counter_keeps(uint32_t row_key, uint64_t seed, uint32_t col, uint32_t threshold) {
  return (mix32(row_key ^ mix32(col + static_cast<uint32_t>(seed))) >> 8) >= threshold;
}

// The threshold of drop probability p ∈ [0, 1]: round(p·2²⁴).
uint32_t counter_threshold(double p);

}  // namespace kiln
