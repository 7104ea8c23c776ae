// PackedPanels: see rnn_packed.h. The loop nest is gemm.cc's (KC → MC → macro-kernel) with the
// right-hand side's packing done once, in pack().
#include "rnn_packed.h"

#include <algorithm>

#include "gemm/internal.h"

namespace kiln {
namespace {

// The packed left-hand block of multiply(), per thread, grown on demand and kept.
thread_local std::vector<float> t_packed_a;

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

}  // namespace

void PackedPanels::pack(const float* w, int64_t depth_stride, int64_t lane_stride, int64_t depth, int64_t width) {
  kernel_ = &gemm::current_kernel();
  depth_ = depth;
  width_ = width;
  const int nr = kernel_->blocks.nr, kc = kernel_->blocks.kc;
  const int64_t padded = round_up(width, nr);
  panels_.resize(static_cast<size_t>(padded * depth));
  for (int64_t pc = 0; pc < depth; pc += kc) {
    const int64_t kcb = std::min<int64_t>(kc, depth - pc);
    gemm::pack_panels(*kernel_, w + pc * depth_stride, lane_stride, depth_stride, width, kcb, nr,
                      panels_.data() + pc * padded);
  }
}

void PackedPanels::multiply(int64_t m, const float* a, int64_t lda, float beta, float* out, int64_t ldo) const {
  const gemm::BlockSizes& bs = kernel_->blocks;
  const int64_t padded = round_up(width_, bs.nr);
  if (depth_ == 0) {  // an empty sum: out = beta · out
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < width_; ++j) out[i * ldo + j] = beta == 0.0f ? 0.0f : beta * out[i * ldo + j];
    }
    return;
  }
  if (t_packed_a.size() < static_cast<size_t>(bs.mc) * bs.kc) t_packed_a.resize(static_cast<size_t>(bs.mc) * bs.kc);
  for (int64_t pc = 0; pc < depth_; pc += bs.kc) {
    const int64_t kcb = std::min<int64_t>(bs.kc, depth_ - pc);
    const float beta_pc = pc == 0 ? beta : 1.0f;
    for (int64_t ic = 0; ic < m; ic += bs.mc) {
      const int64_t mcb = std::min<int64_t>(bs.mc, m - ic);
      gemm::pack_panels(*kernel_, a + ic * lda + pc, lda, 1, mcb, kcb, bs.mr, t_packed_a.data());
      gemm::macro_kernel(*kernel_, mcb, width_, kcb, 1.0f, t_packed_a.data(), panels_.data() + pc * padded,
                         int64_t{bs.nr} * kcb, bs.nr, beta_pc, out + ic * ldo, ldo, 1);
    }
  }
}

}  // namespace kiln
