// Copies between contiguous arrays and strided views (permute, expand, slicing and their
// gradients).
#pragma once

#include <cstdint>

namespace kiln {

// A strided view: element i = (i0, i1, …) of `shape` lives at offset + Σ i_d · strides[d].
// Strides may be 0 (expand) or negative. ndim may be 0 (a single element).
struct StridedView {
  int64_t ndim;
  const int32_t* shape;    // (ndim)
  const int32_t* strides;  // (ndim)
  int64_t offset;
};

// dst: (product of view.shape), contiguous; dst[i] = src[view offset of i]
void strided_copy(const float* src, const StridedView& view, float* dst);

// src: (product of view.shape), contiguous; dst[view offset of i] = src[i], or += when
// accumulate (then several elements landing on one place, through zero strides, all add up).
// Runs serially: with zero strides, different rows can land on the same place.
void strided_scatter(const float* src, float* dst, const StridedView& view, bool accumulate);

}  // namespace kiln
