// Layer and batch normalization (see norm.h). Row loops are plain code marked KILN_VECTORIZE; sums keep
// kLanes partial results (without -ffast-math a reduction loop does not vectorize otherwise).
#include "norm.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "parallel.h"
#include "vectorize.h"

namespace kiln {
namespace {

constexpr int64_t kLanes = 16;
// Rows per block of the backward's weight and bias gradient sums.
constexpr int64_t kRowBlock = 64;

// Σ (x[i] − shift) for i < n.
KILN_VECTORIZE float shifted_sum(const float* x, float shift, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[i + l] - shift;
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += x[i] - shift;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

// Σ (x[i] − shift)² for i < n.
KILN_VECTORIZE float squared_deviation_sum(const float* x, float shift, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += (x[i + l] - shift) * (x[i + l] - shift);
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += (x[i] - shift) * (x[i] - shift);
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

// out = (x − mean)·rstd·weight + bias over one row (weight, bias may be null).
KILN_VECTORIZE void normalize_row(const float* x, const float* weight, const float* bias, float mean, float rstd,
                                  int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float w = weight == nullptr ? 1.0f : weight[i];
    const float b = bias == nullptr ? 0.0f : bias[i];
    out[i] = (x[i] - mean) * rstd * w + b;
  }
}

// The row sums of the input gradient: Σ g and Σ g·x̂ with g = gy·weight, x̂ = (x − mean)·rstd.
struct RowSums {
  float g;
  float g_xhat;
};

KILN_VECTORIZE RowSums gradient_row_sums(const float* gy, const float* x, const float* weight, float mean, float rstd,
                                         int64_t n) {
  float g_lanes[kLanes] = {}, gx_lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const float g = gy[i + l] * (weight == nullptr ? 1.0f : weight[i + l]);
      g_lanes[l] += g;
      gx_lanes[l] += g * (x[i + l] - mean) * rstd;
    }
  }
  RowSums sums{0.0f, 0.0f};
  for (; i < n; ++i) {
    const float g = gy[i] * (weight == nullptr ? 1.0f : weight[i]);
    sums.g += g;
    sums.g_xhat += g * (x[i] - mean) * rstd;
  }
  for (int64_t l = 0; l < kLanes; ++l) {
    sums.g += g_lanes[l];
    sums.g_xhat += gx_lanes[l];
  }
  return sums;
}

// gx = rstd·(g − mean_g − x̂·mean_g_xhat) over one row.
KILN_VECTORIZE void input_gradient_row(const float* gy, const float* x, const float* weight, float mean, float rstd,
                                       float mean_g, float mean_g_xhat, int64_t n, float* gx) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gy[i] * (weight == nullptr ? 1.0f : weight[i]);
    const float xhat = (x[i] - mean) * rstd;
    gx[i] = rstd * (g - mean_g - xhat * mean_g_xhat);
  }
}

// gw += gy·x̂, gb += gy over one row (either may be null).
KILN_VECTORIZE void parameter_gradient_row(const float* gy, const float* x, float mean, float rstd, int64_t n, float* gw,
                                           float* gb) {
  if (gw != nullptr) {
    for (int64_t i = 0; i < n; ++i) gw[i] += gy[i] * (x[i] - mean) * rstd;
  }
  if (gb != nullptr) {
    for (int64_t i = 0; i < n; ++i) gb[i] += gy[i];
  }
}

KILN_VECTORIZE void add_row(const float* x, int64_t n, float* sum) {
  for (int64_t i = 0; i < n; ++i) sum[i] += x[i];
}

// out = (x − mean)·scale + shift over one row.
KILN_VECTORIZE void scale_shift_row(const float* x, float mean, float scale, float shift, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - mean) * scale + shift;
}

// gx = gy·a + (x − mean)·b + k over one row.
KILN_VECTORIZE void two_term_row(const float* gy, const float* x, float mean, float a, float b, float k, int64_t n,
                                 float* gx) {
  for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * a + (x[i] - mean) * b + k;
}

// The n rows of channel ch of a (n, c, inner) tensor: row i starts at (i·c + ch)·inner.
struct ChannelRows {
  int64_t n, c, inner;
  int64_t offset(int64_t image, int64_t channel) const { return (image * c + channel) * inner; }
  double count() const { return static_cast<double>(n) * static_cast<double>(inner); }
};

}  // namespace

void layer_norm_forward(const float* x, const float* weight, const float* bias, float* out, float* mean, float* rstd,
                        int64_t rows, int64_t n, float eps) {
  parallel_for_balanced(0, rows, grain_for(3 * n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = x + r * n;
      const float m = shifted_sum(row, 0.0f, n) / static_cast<float>(n);
      const float variance = squared_deviation_sum(row, m, n) / static_cast<float>(n);
      mean[r] = m;
      rstd[r] = 1.0f / std::sqrt(variance + eps);
      normalize_row(row, weight, bias, m, rstd[r], n, out + r * n);
    }
  });
}

void layer_norm_backward(const float* gy, const float* x, const float* weight, const float* mean, const float* rstd,
                         float* gx, float* gw, float* gb, int64_t rows, int64_t n) {
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  // Per block partial sums of gw and gb, added in block order afterwards.
  std::vector<float> partial_w(gw == nullptr ? 0 : blocks * n, 0.0f), partial_b(gb == nullptr ? 0 : blocks * n, 0.0f);
  parallel_for_balanced(0, blocks, grain_for(4 * n * kRowBlock), [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      float* block_w = gw == nullptr ? nullptr : partial_w.data() + block * n;
      float* block_b = gb == nullptr ? nullptr : partial_b.data() + block * n;
      for (int64_t r = block * kRowBlock; r < std::min(rows, (block + 1) * kRowBlock); ++r) {
        const float* gy_row = gy + r * n;
        const float* x_row = x + r * n;
        const RowSums sums = gradient_row_sums(gy_row, x_row, weight, mean[r], rstd[r], n);
        input_gradient_row(gy_row, x_row, weight, mean[r], rstd[r], sums.g / static_cast<float>(n),
                           sums.g_xhat / static_cast<float>(n), n, gx + r * n);
        parameter_gradient_row(gy_row, x_row, mean[r], rstd[r], n, block_w, block_b);
      }
    }
  });
  for (auto [sum, partial] : {std::pair{gw, &partial_w}, std::pair{gb, &partial_b}}) {
    if (sum == nullptr) continue;
    std::fill(sum, sum + n, 0.0f);
    for (int64_t block = 0; block < blocks; ++block) add_row(partial->data() + block * n, n, sum);
  }
}

void batch_norm_forward(const float* x, const float* weight, const float* bias, float* out, float* mean,
                        float* variance, float* rstd, int64_t n, int64_t c, int64_t inner, float eps) {
  const ChannelRows rows{n, c, inner};
  parallel_for_balanced(0, c, grain_for(3 * n * inner), [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      // Row sums in float (vectorized), accumulated over rows in double.
      double sum = 0.0;
      for (int64_t i = 0; i < n; ++i) sum += shifted_sum(x + rows.offset(i, ch), 0.0f, inner);
      const auto m = static_cast<float>(sum / rows.count());
      double squares = 0.0;
      for (int64_t i = 0; i < n; ++i) squares += squared_deviation_sum(x + rows.offset(i, ch), m, inner);
      const auto var = static_cast<float>(squares / rows.count());
      const float s = 1.0f / std::sqrt(var + eps);
      mean[ch] = m;
      variance[ch] = var;
      rstd[ch] = s;
      const float scale = s * (weight == nullptr ? 1.0f : weight[ch]);
      const float shift = bias == nullptr ? 0.0f : bias[ch];
      for (int64_t i = 0; i < n; ++i) scale_shift_row(x + rows.offset(i, ch), m, scale, shift, inner, out + rows.offset(i, ch));
    }
  });
}

void batch_norm_backward(const float* gy, const float* x, const float* weight, const float* mean, const float* rstd,
                         float* gx, float* gw, float* gb, int64_t n, int64_t c, int64_t inner) {
  const ChannelRows rows{n, c, inner};
  parallel_for_balanced(0, c, grain_for(4 * n * inner), [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      double sum_g = 0.0, sum_g_xhat = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const RowSums sums = gradient_row_sums(gy + rows.offset(i, ch), x + rows.offset(i, ch), nullptr, mean[ch], rstd[ch], inner);
        sum_g += sums.g;
        sum_g_xhat += sums.g_xhat;
      }
      if (gw != nullptr) gw[ch] = static_cast<float>(sum_g_xhat);
      if (gb != nullptr) gb[ch] = static_cast<float>(sum_g);
      // gx = w·rstd·(gy − mean_g − (x − mean)·rstd·mean_g_xhat) = gy·a + (x − mean)·b + k.
      const double a = (weight == nullptr ? 1.0 : weight[ch]) * static_cast<double>(rstd[ch]);
      const double mean_g = sum_g / rows.count(), mean_g_xhat = sum_g_xhat / rows.count();
      const double b = -a * rstd[ch] * mean_g_xhat;
      for (int64_t i = 0; i < n; ++i) {
        two_term_row(gy + rows.offset(i, ch), x + rows.offset(i, ch), mean[ch], static_cast<float>(a),
                     static_cast<float>(b), static_cast<float>(-a * mean_g), inner, gx + rows.offset(i, ch));
      }
    }
  });
}

}  // namespace kiln
