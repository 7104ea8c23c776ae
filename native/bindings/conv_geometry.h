// The geometry array of the conv2d bindings (lib/backend/native.ts packs it), checked and read
// into a Conv2dShape. Pure C++ (no N-API): conv.cc reports a failure as a RangeError, and
// native/fuzz/fuzz_conv_geometry.cc calls it directly.
#pragma once

#include <cstdint>

#include "../kernels/conv/conv.h"
#include "checks.h"

namespace kiln::bindings {

// The number of entries of the geometry array.
constexpr int kConvGeometrySize = 18;

// Reads geometry[0..length) into s and returns true when it is a convolution the kernels can
// run: 18 entries, n and the paddings >= 0, the others >= 1, groups dividing c and k, every
// loop of the three passes at most kMaxWork steps, and outH, outW what the input, kernel,
// stride, padding and dilation give. Else returns false with a Problem (s.groups stays >= 1).
bool conv_shape_from_geometry(const int32_t* geometry, int64_t length, Conv2dShape& s, Problem& problem);

}  // namespace kiln::bindings
