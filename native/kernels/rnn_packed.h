// A slice of a recurrent weight matrix packed once per sequence into the GEMM micro-kernel's
// right-hand panel layout, then multiplied by a small left-hand side at every time step.
//
// Why: each step's recurrent product has few rows (the batch) against the same W_hh slice for
// all T steps. sgemm would re-pack that slice every step, or (skinny products) read it in
// place with a row stride of G·H floats, often a multiple of 4 KiB, so its rows alias in the
// caches. Packed once, the slice is one compact block that the thread owning it streams from
// its own L2 at every step; the backward packs its slice with the depth (gate columns) split
// by part, which sgemm cannot be asked to keep. On one Zen 4 core both run at about the same
// speed: what packing buys is that layout, for the threaded recurrence (see rnn.cc's parts).
#pragma once

#include <cstdint>
#include <vector>

#include "gemm/config.h"

namespace kiln {

class PackedPanels {
 public:
  // Packs the (depth × width) matrix W with element (p, j) at w[p * depth_stride + j * lane_stride].
  // Uses the GEMM micro-kernel current now (gemm_isa), also for every later multiply.
  void pack(const float* w, int64_t depth_stride, int64_t lane_stride, int64_t depth, int64_t width);

  // out (m × width, row stride ldo) = a (m × depth, row stride lda) · W + beta · out.
  // beta == 0 never reads out.
  void multiply(int64_t m, const float* a, int64_t lda, float beta, float* out, int64_t ldo) const;

 private:
  const gemm::GemmKernel* kernel_ = nullptr;
  int64_t depth_ = 0, width_ = 0;
  std::vector<float> panels_;  // per KC-deep block of depth: its NR-wide panels, block after block
};

}  // namespace kiln
