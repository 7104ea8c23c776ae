// int8 dynamic-quantized Linear (PyTorch's quantized::linear_dynamic on fbgemm, x86):
//   out (m, n) = dequantize(quantize_u8(x) (m, k) · w_s8ᵀ (k, n)) + bias
// x is quantized per call, per tensor, asymmetric, to u8 in [0, 127] ("reduce_range": a pair
// of u8 × s8 products then sums to at most 2 · 127 · 128 = 32512, so vpmaddubsw's s16 result
// never saturates). w is int8, symmetric (zero point 0), one scale per output channel, packed
// once by qgemm_pack_weights. s32 accumulation; the epilogue subtracts zero_point · Σ_k w[j, k]
// (column sums precomputed at packing) and scales by x_scale · w_scale[j], then adds bias.
// See docs/ARCHITECTURE.md, "int8 dynamic quantization".
#pragma once

#include <cstdint>
#include <string>

namespace kiln {

// Packed weight layout (the same for every micro-kernel): panels of kQgemmPanelColumns
// output channels; inside a panel, groups of kQgemmGroupDepth consecutive k; inside a group,
// each channel's kQgemmGroupDepth int8 values together (a group is one zmm, as vpdpbusd reads it):
//   packed[((panel · groups + g) · 16 + c) · 4 + q] = w[panel · 16 + c, g · 4 + q]
// with zeros past n and past k.
constexpr int64_t kQgemmPanelColumns = 16;
constexpr int64_t kQgemmGroupDepth = 4;

// Largest k: |Σ (x_q − zero_point) · w_q| ≤ 2 · 127 · 128 · k must stay inside int32.
constexpr int64_t kQgemmMaxDepth = 65536;

// Bytes of the packed weights of an (n, k) matrix.
int64_t qgemm_packed_weight_bytes(int64_t n, int64_t k);

// Packs w (n, k) row-major int8 into `packed` (qgemm_packed_weight_bytes(n, k) bytes) and
// writes column_sums[j] = Σ_k w[j, k] (n entries).
void qgemm_pack_weights(const int8_t* w, int64_t n, int64_t k, int8_t* packed, int32_t* column_sums);

// The per-tensor u8 quantization of an activation with this min and max (PyTorch's
// ChooseQuantizationParams with qmin 0, qmax 255 and reduce_range: [0, 127]).
struct ActivationQuantization {
  float scale;
  int32_t zero_point;
};
ActivationQuantization choose_activation_quantization(float min, float max);

// The dynamic-quantized Linear. x (m, k), out (m, n), row-major; bias (n) or null.
// weight_scales (n); packed and column_sums from qgemm_pack_weights. Returns "" or an error
// (x holding NaN or infinity, which has no quantization). k ≤ kQgemmMaxDepth.
std::string qlinear_dynamic(const float* x, int64_t m, int64_t k, const int8_t* packed, int64_t n,
                            const int32_t* column_sums, const float* weight_scales, const float* bias, float* out);

enum class QgemmIsa { kScalar, kAvx2, kAvx512Vnni };

// Selects the micro-kernel family (for tests and KILN_ISA); false when this CPU cannot run it.
bool set_qgemm_isa(QgemmIsa isa);

// The family in use: "avx512vnni", "avx2" or "scalar".
const char* qgemm_isa_name();

}  // namespace kiln
