// The int8 dynamic-quantized Linear driver: weight packing, the activation's quantization
// parameters, and the loop over tiles (threads over the tile grid), with the micro-kernel
// family chosen at run time (the best this CPU runs; KILN_ISA=avx2 or scalar caps it, as for sgemm).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../cpu.h"
#include "../parallel.h"
#include "internal.h"

namespace kiln {
namespace {

using qgemm::kRows;
using qgemm::QgemmKernel;

int64_t groups_of(int64_t k) { return (k + kQgemmGroupDepth - 1) / kQgemmGroupDepth; }
int64_t panels_of(int64_t count, int64_t per_panel) { return (count + per_panel - 1) / per_panel; }

const QgemmKernel* kernel_for(QgemmIsa isa) {
#if defined(__x86_64__) || defined(_M_X64)
  if (isa == QgemmIsa::kAvx512Vnni) return cpu_features().avx512_vnni ? &qgemm::kAvx512VnniKernel : nullptr;
  if (isa == QgemmIsa::kAvx2) return cpu_features().avx2_fma ? &qgemm::kAvx2Kernel : nullptr;
#endif
  return isa == QgemmIsa::kScalar ? &qgemm::kScalarKernel : nullptr;
}

// The best family this CPU runs, or the one KILN_ISA caps it at (avx2 or scalar).
const QgemmKernel* initial_kernel() {
  const char* requested = std::getenv("KILN_ISA");
  const bool cap_scalar = requested != nullptr && std::strcmp(requested, "scalar") == 0;
  const bool cap_avx2 = requested != nullptr && std::strcmp(requested, "avx2") == 0;
  for (QgemmIsa isa : {QgemmIsa::kAvx512Vnni, QgemmIsa::kAvx2}) {
    if (cap_scalar || (cap_avx2 && isa == QgemmIsa::kAvx512Vnni)) continue;
    if (const QgemmKernel* kernel = kernel_for(isa)) return kernel;
  }
  return &qgemm::kScalarKernel;
}

std::atomic<const QgemmKernel*>& active_kernel() {
  static std::atomic<const QgemmKernel*> kernel{initial_kernel()};
  return kernel;
}

// Per-call scratch of one thread: packed activations and the padded per-column epilogue arrays.
struct Scratch {
  std::vector<uint8_t> activations;
  std::vector<int32_t> corrections;
  std::vector<float> scales, bias;
};

// The epilogue arrays padded to whole panels: corrections[j] = zero_point · Σ_k w[j, k],
// scales[j] = x_scale · w_scale[j].
void prepare_columns(Scratch& s, int64_t n, const int32_t* column_sums, const float* weight_scales, const float* bias,
                     ActivationQuantization q) {
  const size_t padded = static_cast<size_t>(panels_of(n, kQgemmPanelColumns) * kQgemmPanelColumns);
  s.corrections.assign(padded, 0);
  s.scales.assign(padded, 0.0f);
  s.bias.assign(padded, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    s.corrections[j] = q.zero_point * column_sums[j];
    s.scales[j] = q.scale * weight_scales[j];
  }
  if (bias != nullptr) std::copy(bias, bias + n, s.bias.begin());
}

// A chunk of threads' work: about this many multiply-adds (a tile is kRows · 16 · k of them),
// so a small product runs on the calling thread alone.
constexpr int64_t kMultiplyAddsPerChunk = int64_t{1} << 20;

}  // namespace

int64_t qgemm_packed_weight_bytes(int64_t n, int64_t k) {
  return panels_of(n, kQgemmPanelColumns) * kQgemmPanelColumns * groups_of(k) * kQgemmGroupDepth;
}

void qgemm_pack_weights(const int8_t* w, int64_t n, int64_t k, int8_t* packed, int32_t* column_sums) {
  const int64_t groups = groups_of(k);
  std::memset(packed, 0, static_cast<size_t>(qgemm_packed_weight_bytes(n, k)));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t panel = j / kQgemmPanelColumns, c = j % kQgemmPanelColumns;
    int32_t sum = 0;
    for (int64_t p = 0; p < k; ++p) {
      const int64_t g = p / kQgemmGroupDepth, q = p % kQgemmGroupDepth;
      packed[((panel * groups + g) * kQgemmPanelColumns + c) * kQgemmGroupDepth + q] = w[j * k + p];
      sum += w[j * k + p];
    }
    column_sums[j] = sum;
  }
}

ActivationQuantization choose_activation_quantization(float min, float max) {
  constexpr int32_t qmin = 0, qmax = 127;  // [0, 255] halved: reduce_range
  constexpr double kSmallScale = 6.1e-5f;  // PyTorch's SMALL_SCALE_THRESHOLD (a float)
  double lo = std::min(min, 0.0f), hi = std::max(max, 0.0f);  // the range holds 0 exactly
  double scale = (hi - lo) / (qmax - qmin);
  if (static_cast<float>(scale) == 0.0f || std::isinf(1.0f / static_cast<float>(scale))) scale = 0.1;
  if (scale < kSmallScale) {  // widen a tiny range so 1 / scale stays representable
    const double widen = kSmallScale / scale;
    scale = kSmallScale;
    if (lo == 0.0) {
      hi = kSmallScale * (qmax - qmin);
    } else if (hi == 0.0) {
      lo = -kSmallScale * (qmax - qmin);
    } else {
      lo *= widen;
      hi *= widen;
    }
  }
  // The zero point from whichever end loses less to rounding, clamped and rounded to an integer.
  const double from_min = qmin - lo / scale, from_max = qmax - hi / scale;
  const double error_min = std::abs(double{qmin}) - std::abs(lo / scale);
  const double error_max = std::abs(double{qmax}) - std::abs(hi / scale);
  const double initial = error_min < error_max ? from_min : from_max;
  const double clamped = std::min<double>(qmax, std::max<double>(qmin, initial));
  return {static_cast<float>(scale), static_cast<int32_t>(std::nearbyint(clamped))};
}

namespace {

// Quantizes x (m, k) into the scratch's packed activation panels, threads over row panels.
void quantize_activations(const QgemmKernel& kernel, const float* x, int64_t m, int64_t k, ActivationQuantization q,
                          Scratch& s) {
  const int64_t groups = groups_of(k), m_panels = panels_of(m, kRows);
  const int64_t panel_bytes = groups * kRows * kQgemmGroupDepth;
  s.activations.resize(static_cast<size_t>(m_panels * panel_bytes));
  uint8_t* activations = s.activations.data();
  parallel_for(0, m_panels, grain_for(kRows * std::max<int64_t>(k, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t panel = begin; panel < end; ++panel) {
      const int rows = static_cast<int>(std::min(kRows, m - panel * kRows));
      kernel.quantize_panel(x + panel * kRows * k, k, rows, k, groups, q, activations + panel * panel_bytes);
    }
  });
}

// out (m, n) tile by tile from the scratch's activations and epilogue arrays; a tile is kRows
// rows × the kernel's tile_panels weight panels. Tiles go in column-major order: a chunk reuses
// one column of weight panels (in L1 or L2) across row panels.
void multiply_tiles(const QgemmKernel& kernel, const Scratch& s, const int8_t* packed, int64_t m, int64_t k, int64_t n,
                    float* out) {
  const int64_t tile_columns = kernel.tile_panels * kQgemmPanelColumns;
  const int64_t groups = groups_of(k), m_panels = panels_of(m, kRows), n_tiles = panels_of(n, tile_columns);
  const int64_t a_panel_bytes = groups * kRows * kQgemmGroupDepth;
  const int64_t b_tile_bytes = groups * tile_columns * kQgemmGroupDepth;
  const int64_t tile_work = kRows * tile_columns * std::max<int64_t>(groups * kQgemmGroupDepth, 1);
  parallel_for_balanced(0, m_panels * n_tiles, std::max<int64_t>(1, kMultiplyAddsPerChunk / tile_work),
                        [&](int64_t begin, int64_t end) {
                          for (int64_t tile = begin; tile < end; ++tile) {
                            const int64_t mp = tile % m_panels, col = tile / m_panels * tile_columns;
                            const qgemm::Epilogue epilogue = {s.corrections.data() + col, s.scales.data() + col,
                                                              s.bias.data() + col};
                            kernel.tile(s.activations.data() + mp * a_panel_bytes,
                                        packed + tile / m_panels * b_tile_bytes, groups,
                                        static_cast<int>(std::min(kRows, m - mp * kRows)),
                                        static_cast<int>(std::min(tile_columns, n - col)), epilogue,
                                        out + mp * kRows * n + col, n);
                          }
                        });
}

}  // namespace

std::string qlinear_dynamic(const float* x, int64_t m, int64_t k, const int8_t* packed, int64_t n,
                            const int32_t* column_sums, const float* weight_scales, const float* bias, float* out) {
  if (m == 0 || n == 0) return std::string();
  const QgemmKernel& kernel = *active_kernel().load(std::memory_order_relaxed);
  float min = 0.0f, max = 0.0f;
  if (k > 0 && !kernel.min_max(x, m * k, &min, &max)) {
    return "x holds NaN or infinity, which has no int8 quantization";
  }
  const ActivationQuantization quantization = choose_activation_quantization(min, max);
  thread_local Scratch scratch;  // grows to the largest call on this thread, kept for the next
  prepare_columns(scratch, n, column_sums, weight_scales, bias, quantization);
  quantize_activations(kernel, x, m, k, quantization, scratch);
  multiply_tiles(kernel, scratch, packed, m, k, n, out);
  return std::string();
}

bool set_qgemm_isa(QgemmIsa isa) {
  const QgemmKernel* kernel = kernel_for(isa);
  if (kernel == nullptr) return false;
  active_kernel().store(kernel, std::memory_order_relaxed);
  return true;
}

const char* qgemm_isa_name() { return active_kernel().load(std::memory_order_relaxed)->name; }

}  // namespace kiln
