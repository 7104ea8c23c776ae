// The kiln native addon: registers every binding, nothing else.
#include <napi.h>

#include "bindings/bindings.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  using namespace kiln::bindings;
  register_elementwise(env, exports);
  register_reduce(env, exports);
  register_softmax(env, exports);
  register_matmul(env, exports);
  register_sgemm(env, exports);
  register_strided(env, exports);
  register_index(env, exports);
  register_loss(env, exports);
  register_optim(env, exports);
  register_conv(env, exports);
  register_pool(env, exports);
  register_threads(env, exports);
  register_memory(env, exports);
  register_interpolate(env, exports);
  register_rnn(env, exports);
  register_sort(env, exports);
  register_scan(env, exports);
  register_attention(env, exports);
  register_queue(env, exports);
  register_dropout(env, exports);
  register_bfloat16(env, exports);
  register_norm(env, exports);
  register_quantized(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(kiln, init)
