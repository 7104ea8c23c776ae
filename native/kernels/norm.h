// Layer normalization over the last n elements of each row, forward and backward in one pass
// per row each; batch normalization's training forward and backward over (n, c, inner).
#pragma once

#include <cstdint>

namespace kiln {

// x, out: (rows, n); weight, bias: (n) or null; mean, rstd: (rows).
// mean_r = Σ x_r / n, rstd_r = 1 / √(Σ (x_r − mean_r)² / n + eps),
// out_r = (x_r − mean_r)·rstd_r·weight + bias. Parallel over rows.
void layer_norm_forward(const float* x, const float* weight, const float* bias, float* out, float* mean, float* rstd,
                        int64_t rows, int64_t n, float eps);

// Gradients given gy (rows, n) and the forward's mean and rstd: gx (rows, n) overwritten;
// gw, gb (n) overwritten when not null (the weight's and bias's gradients, Σ over rows of
// gy·x̂ and gy, summed in fixed blocks of rows so the result does not depend on the thread
// count). With x̂ = (x − mean)·rstd and g = gy·weight:
// gx = rstd·(g − mean(g) − x̂·mean(g·x̂)).
void layer_norm_backward(const float* gy, const float* x, const float* weight, const float* mean, const float* rstd,
                         float* gx, float* gw, float* gb, int64_t rows, int64_t n);

// Batch normalization with the batch's statistics. x, out: (n, c, inner); weight, bias: (c) or
// null; mean, variance, rstd: (c). Per channel over its n·inner values: mean, the biased
// variance, rstd = 1 / √(variance + eps), out = (x − mean)·rstd·weight + bias. Parallel over
// channels (each channel's sums in one thread: results do not depend on the thread count).
void batch_norm_forward(const float* x, const float* weight, const float* bias, float* out, float* mean,
                        float* variance, float* rstd, int64_t n, int64_t c, int64_t inner, float eps);

// Gradients given gy (n, c, inner) and the forward's mean and rstd: gx (n, c, inner)
// overwritten; gw, gb (c) overwritten when not null (Σ gy·x̂ and Σ gy per channel). With
// x̂ = (x − mean)·rstd and m = n·inner values per channel:
// gx = weight·rstd·(gy − Σgy/m − x̂·Σ(gy·x̂)/m).
void batch_norm_backward(const float* gy, const float* x, const float* weight, const float* mean, const float* rstd,
                         float* gx, float* gw, float* gb, int64_t n, int64_t c, int64_t inner);

}  // namespace kiln
