// setNumThreads, getNumThreads: see Backend in lib/backend/backend.ts. setIdleScheduling: see
// the Trainer's priority option (lib/train/trainer.ts).
#include "../kernels/parallel.h"

#include "args.h"
#include "bindings.h"

namespace kiln::bindings {
namespace {

// More threads than this is certainly a mistake (each one is a real OS thread).
constexpr int64_t kMaxThreads = 256;

// setNumThreads(n: integer in [1, 256])
napi_value set_num_threads(napi_env env, napi_callback_info info) {
  Args args(env, info, "setNumThreads", 1);
  const int64_t count = args.integer(0, "n", 1, kMaxThreads);
  if (!args.ok()) return nullptr;
  kiln::set_num_threads(static_cast<int>(count));
  return nullptr;
}

// getNumThreads(): number
napi_value get_num_threads(napi_env env, napi_callback_info info) {
  Args args(env, info, "getNumThreads", 0);
  if (!args.ok()) return nullptr;
  napi_value result;
  if (napi_create_int32(env, kiln::get_num_threads(), &result) != napi_ok) return nullptr;
  return result;
}

// setIdleScheduling(on: boolean): boolean — the calling thread, and the pool threads it uses,
// under SCHED_IDLE (on) or back to normal (off); false when refused or unsupported
napi_value set_idle_scheduling(napi_env env, napi_callback_info info) {
  Args args(env, info, "setIdleScheduling", 1);
  const bool on = args.boolean(0, "on");
  if (!args.ok()) return nullptr;
  napi_value result;
  if (napi_get_boolean(env, kiln::set_idle_scheduling(on), &result) != napi_ok) return nullptr;
  return result;
}

}  // namespace

void register_threads(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "setNumThreads", set_num_threads);
  export_function(env, exports, "getNumThreads", get_num_threads);
  export_function(env, exports, "setIdleScheduling", set_idle_scheduling);
}

}  // namespace kiln::bindings
