// Deferred kernel execution for kiln.async (lib/serve/async.ts; docs/ARCHITECTURE.md, "Async
// native execution").
//
// Every kernel binding checks its arguments on the JS thread, then hands the kernel call to
// run_kernel. Normally that runs it at once. Between beginQueue() and takeQueue() on this
// thread the call is appended to the thread's command queue instead; runQueue(handle) executes
// the taken queue in order on a libuv pool thread (napi async work, each kernel still using kiln's
// thread pool) and settles a promise from the completion callback on the JS thread. The JS
// side keeps every array a queued call touches alive and unreadable until then.
#pragma once

#include <napi.h>

#include <string>
#include <type_traits>
#include <utility>

#include "args.h"

namespace kiln::bindings {

// A checked kernel call: returns "" on success, else the error (without the function name).
using KernelCall = std::string (*)(void* state);

// Runs `call(state)` now (a returned error becomes a RangeError from args' function) or, while
// this thread records a queue, appends it; `state` is then owned by the queue (freed by
// `destroy`).
void run_or_enqueue(Args& args, KernelCall call, void* state, void (*destroy)(void*));

// The usual form: `return run_kernel(args, [=] { kiln::matmul(...); });`. The lambda captures
// by value everything the kernel reads (pointers into JS arrays, which the JS side keeps alive,
// and plain sizes, never pointers to the binding's stack). It may return a std::string error.
template <typename Kernel>
napi_value run_kernel(Args& args, Kernel kernel) {
  auto* state = new Kernel(std::move(kernel));
  const KernelCall call = [](void* s) -> std::string {
    Kernel& k = *static_cast<Kernel*>(s);
    if constexpr (std::is_void_v<std::invoke_result_t<Kernel&>>) {
      k();
      return std::string();
    } else {
      return k();
    }
  };
  run_or_enqueue(args, call, state, [](void* s) { delete static_cast<Kernel*>(s); });
  return nullptr;
}

}  // namespace kiln::bindings
