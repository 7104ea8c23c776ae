// softmaxCrossEntropy, softmaxCrossEntropyBackward: see Backend in lib/backend/backend.ts.
#include "../kernels/loss.h"

#include "args.h"
#include "bindings.h"
#include "queue.h"

#include <utility>

namespace kiln::bindings {
namespace {

// Reads the shared tail (outer, n, inner, ignoreIndex, labelSmoothing) starting at `first`
// and checks logits, target and weight against it.
CrossEntropyConfig read_config(Args& args, size_t first, const Array<float>& logits, const Array<int32_t>& target,
                               const Array<float>& weight) {
  CrossEntropyConfig c{};
  c.outer = args.size(first, "outer");
  c.n = args.integer(first + 1, "n", 1, kMaxSafeInteger);
  c.inner = args.size(first + 2, "inner");
  c.ignore_index = args.integer(first + 3, "ignoreIndex", INT32_MIN, INT32_MAX);
  c.label_smoothing = args.number(first + 4, "labelSmoothing");
  if (args.ok() && !(c.label_smoothing >= 0.0 && c.label_smoothing <= 1.0)) {
    args.range_error("labelSmoothing must be in [0, 1], got %g", c.label_smoothing);
  }
  args.require_elements("logits", logits.length, {{"outer", c.outer}, {"n", c.n}, {"inner", c.inner}});
  args.require_elements("target", target.length, {{"outer", c.outer}, {"inner", c.inner}});
  if (args.ok() && weight.length != 0 && weight.length != c.n) {
    args.range_error("weight has %lld elements but n=%lld (pass an empty array for no weights)",
                     static_cast<long long>(weight.length), static_cast<long long>(c.n));
  }
  for (int64_t s = 0; args.ok() && s < target.length; ++s) {
    const int32_t t = target.data[s];
    if (t != c.ignore_index && (t < 0 || t >= c.n)) {
      args.range_error("target %d at position %lld is out of range for n=%lld classes", t, static_cast<long long>(s),
                       static_cast<long long>(c.n));
    }
  }
  return c;
}

// softmaxCrossEntropy(logits, target: Int32Array, weight, loss, lse, outer, n, inner, ignoreIndex, labelSmoothing)
napi_value softmax_cross_entropy(napi_env env, napi_callback_info info) {
  Args args(env, info, "softmaxCrossEntropy", 10);
  const Array<float> logits = args.float32(0, "logits");
  const Array<int32_t> target = args.int32(1, "target");
  const Array<float> weight = args.float32(2, "weight");
  const Array<float> loss = args.float32(3, "loss");
  const Array<float> lse = args.float32(4, "lse");
  const CrossEntropyConfig c = read_config(args, 5, logits, target, weight);
  args.require_same_length("loss", loss.length, "target", target.length);
  args.require_same_length("lse", lse.length, "target", target.length);
  for (const auto& [name, written] : {std::pair{"loss", loss}, std::pair{"lse", lse}}) {
    args.require_disjoint(name, written, "target", target);
    args.require_disjoint(name, written, "logits", logits);
    args.require_disjoint(name, written, "weight", weight);
  }
  args.require_disjoint("loss", loss, "lse", lse);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::softmax_cross_entropy_forward(logits.data, target.data, weight.length ? weight.data : nullptr, loss.data,
                                        lse.data, c);
  });
}

// softmaxCrossEntropyBackward(logits, target, weight, lse, gradLoss, gradLogits, outer, n, inner, ignoreIndex,
//                             labelSmoothing)
napi_value softmax_cross_entropy_backward(napi_env env, napi_callback_info info) {
  Args args(env, info, "softmaxCrossEntropyBackward", 11);
  const Array<float> logits = args.float32(0, "logits");
  const Array<int32_t> target = args.int32(1, "target");
  const Array<float> weight = args.float32(2, "weight");
  const Array<float> lse = args.float32(3, "lse");
  const Array<float> grad_loss = args.float32(4, "gradLoss");
  const Array<float> grad_logits = args.float32(5, "gradLogits");
  const CrossEntropyConfig c = read_config(args, 6, logits, target, weight);
  args.require_same_length("lse", lse.length, "target", target.length);
  args.require_same_length("gradLoss", grad_loss.length, "target", target.length);
  args.require_same_length("gradLogits", grad_logits.length, "logits", logits.length);
  args.require_disjoint("gradLogits", grad_logits, "target", target);
  args.require_disjoint("gradLogits", grad_logits, "weight", weight);
  args.require_disjoint("gradLogits", grad_logits, "lse", lse);
  args.require_disjoint("gradLogits", grad_logits, "gradLoss", grad_loss);
  if (!args.ok()) return nullptr;
  return run_kernel(args, [=] {
    kiln::softmax_cross_entropy_backward(logits.data, target.data, weight.length ? weight.data : nullptr, lse.data,
                                         grad_loss.data, grad_logits.data, c);
  });
}

}  // namespace

void register_loss(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "softmaxCrossEntropy", softmax_cross_entropy);
  export_function(env, exports, "softmaxCrossEntropyBackward", softmax_cross_entropy_backward);
}

}  // namespace kiln::bindings
