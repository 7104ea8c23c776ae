// beginQueue, takeQueue, runQueue, isQueueing: the command queue of kiln.async (see queue.h).
#include "queue.h"

#include <condition_variable>
#include <mutex>
#include <vector>

#include "bindings.h"

namespace kiln::bindings {
namespace {

struct Command {
  const char* function;  // the binding's name, for errors
  KernelCall call;
  void* state;
  void (*destroy)(void*);
};

// The queues of one JS thread (the main thread or one worker) that have been handed to the
// libuv pool and not finished executing. An env cleanup hook waits for them, so a worker's
// exit never frees arrays under a running kernel.
struct Running {
  std::mutex mutex;
  std::condition_variable idle;
  int count = 0;
  bool cleanup_hook_added = false;
};

struct Queue {
  std::vector<Command> commands;
  std::string error;  // "function: message" of the first failed command; later ones are skipped
  Running* running = nullptr;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;  // set once the queue runs: it runs once
  napi_ref handle = nullptr;       // keeps the handle (which owns this queue) alive while it runs

  ~Queue() {
    for (Command& c : commands) c.destroy(c.state);
  }
};

thread_local Queue* recording = nullptr;
thread_local Running running_on_this_thread;

void wait_until_idle(void* data) {
  auto* running = static_cast<Running*>(data);
  std::unique_lock<std::mutex> lock(running->mutex);
  running->idle.wait(lock, [running] { return running->count == 0; });
}

bool throw_error(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return false;
}

// Runs on a libuv pool thread: no N-API calls here.
void execute(napi_env /*env*/, void* data) {
  auto* queue = static_cast<Queue*>(data);
  for (Command& c : queue->commands) {
    const std::string error = c.call(c.state);
    if (!error.empty()) {
      queue->error = std::string(c.function) + ": " + error;
      break;
    }
  }
  std::lock_guard<std::mutex> lock(queue->running->mutex);
  if (--queue->running->count == 0) queue->running->idle.notify_all();
}

// Runs on the JS thread once execute has returned.
void complete(napi_env env, napi_status status, void* data) {
  auto* queue = static_cast<Queue*>(data);
  if (status == napi_ok && queue->error.empty()) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, queue->deferred, undefined);
  } else {
    const std::string message = queue->error.empty() ? "runQueue: the queued kernels were cancelled" : queue->error;
    napi_value text, error;
    napi_create_string_utf8(env, message.c_str(), message.size(), &text);
    napi_create_error(env, nullptr, text, &error);
    napi_reject_deferred(env, queue->deferred, error);
  }
  napi_delete_async_work(env, queue->work);
  napi_delete_reference(env, queue->handle);
  queue->handle = nullptr;
}

// beginQueue(): from now on this thread's kernel calls are queued, until takeQueue().
napi_value begin_queue(napi_env env, napi_callback_info /*info*/) {
  if (recording != nullptr) {
    throw_error(env, "beginQueue: this thread is already recording a queue (call takeQueue first)");
    return nullptr;
  }
  recording = new Queue();
  return nullptr;
}

// Frees a taken queue when its handle is collected (never while it runs: run_queue holds a
// reference to the handle until complete()).
void finalize_queue(napi_env /*env*/, void* data, void* /*hint*/) { delete static_cast<Queue*>(data); }

// takeQueue(): stops recording and returns the recorded kernels as a handle for runQueue.
napi_value take_queue(napi_env env, napi_callback_info /*info*/) {
  Queue* queue = recording;
  if (queue == nullptr) {
    throw_error(env, "takeQueue: no queue is being recorded (call beginQueue first)");
    return nullptr;
  }
  recording = nullptr;
  napi_value handle;
  if (napi_create_external(env, queue, finalize_queue, nullptr, &handle) != napi_ok) {
    delete queue;
    throw_error(env, "takeQueue: cannot create the queue's handle");
    return nullptr;
  }
  return handle;
}

// Registers the env cleanup hook that waits for this thread's running queues (once per thread).
bool ensure_cleanup_hook(napi_env env, Running& running) {
  if (running.cleanup_hook_added) return true;
  if (napi_add_env_cleanup_hook(env, wait_until_idle, &running) != napi_ok) return false;
  running.cleanup_hook_added = true;
  return true;
}

// runQueue(handle): runs a taken queue's kernels in order off the JS thread. Returns a promise
// that resolves when they are done, or rejects with the first failed kernel's error (the
// kernels after it are not run). A handle runs once.
napi_value run_queue(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value handle;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, &handle, nullptr, nullptr) != napi_ok || argc != 1 ||
      napi_get_value_external(env, handle, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "runQueue: expected the handle takeQueue returned");
    return nullptr;
  }
  auto* queue = static_cast<Queue*>(data);
  if (queue->work != nullptr) {
    throw_error(env, "runQueue: this queue has already run");
    return nullptr;
  }
  Running& running = running_on_this_thread;
  napi_value promise, name;
  if (!ensure_cleanup_hook(env, running) || napi_create_promise(env, &queue->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "kiln.async", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, nullptr, name, execute, complete, queue, &queue->work) != napi_ok) {
    throw_error(env, "runQueue: cannot create the async work");
    return nullptr;
  }
  if (napi_create_reference(env, handle, 1, &queue->handle) != napi_ok) {
    napi_delete_async_work(env, queue->work);
    queue->work = nullptr;
    throw_error(env, "runQueue: cannot reference the queue's handle");
    return nullptr;
  }
  queue->running = &running;
  {
    std::lock_guard<std::mutex> lock(running.mutex);
    ++running.count;
  }
  if (napi_queue_async_work(env, queue->work) != napi_ok) {
    {
      std::lock_guard<std::mutex> lock(running.mutex);
      --running.count;
    }
    napi_delete_async_work(env, queue->work);
    queue->work = nullptr;
    napi_delete_reference(env, queue->handle);
    queue->handle = nullptr;
    throw_error(env, "runQueue: cannot queue the async work");
    return nullptr;
  }
  return promise;
}

// isQueueing(): whether this thread is recording a queue.
napi_value is_queueing(napi_env env, napi_callback_info /*info*/) {
  napi_value result;
  napi_get_boolean(env, recording != nullptr, &result);
  return result;
}

}  // namespace

void run_or_enqueue(Args& args, KernelCall call, void* state, void (*destroy)(void*)) {
  if (recording != nullptr) {
    recording->commands.push_back({args.function(), call, state, destroy});
    return;
  }
  const std::string error = call(state);
  destroy(state);
  if (!error.empty()) args.range_error("%s", error.c_str());
}

void register_queue(Napi::Env env, Napi::Object exports) {
  export_function(env, exports, "beginQueue", begin_queue);
  export_function(env, exports, "takeQueue", take_queue);
  export_function(env, exports, "runQueue", run_queue);
  export_function(env, exports, "isQueueing", is_queueing);
}

}  // namespace kiln::bindings
