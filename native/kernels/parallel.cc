#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

namespace kiln {
namespace {

int hardware_threads() {
  unsigned count = std::thread::hardware_concurrency();
  return count == 0 ? 1 : static_cast<int>(count);
}

std::atomic<int> g_num_threads{hardware_threads()};

// How long a thread polls before blocking on a condition variable: a helper waiting for the
// next loop, the owner waiting for its helpers. Waking a parked thread costs ~40 µs on these
// VMs; back-to-back parallel loops (a training step, a batch of GEMMs) skip that cost.
constexpr std::chrono::microseconds kSpinTime{100};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `ready` for up to kSpinTime.
template <typename Ready>
void spin_until(const Ready& ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  while (!ready()) {
    for (int i = 0; i < 32; ++i) cpu_relax();
    if (std::chrono::steady_clock::now() > deadline) return;
  }
}

// One parallel loop: [begin, end) cut into chunk_count nearly equal chunks, which the
// participating threads claim one at a time.
struct Job {
  detail::RangeFunction function;
  const void* context;
  int64_t begin;
  int64_t end;
  int64_t chunk_count;
  std::atomic<int64_t> next_chunk{0};

  Job(detail::RangeFunction function, const void* context, int64_t begin, int64_t end, int64_t chunk_count)
      : function(function), context(context), begin(begin), end(end), chunk_count(chunk_count) {}

  int64_t chunk_start(int64_t chunk) const {
    int64_t length = end - begin;
    int64_t base = length / chunk_count;
    int64_t remainder = length % chunk_count;
    return begin + chunk * base + std::min(chunk, remainder);
  }

  void run_chunks() {
    for (int64_t chunk = next_chunk.fetch_add(1); chunk < chunk_count; chunk = next_chunk.fetch_add(1)) {
      function(context, chunk_start(chunk), chunk_start(chunk + 1));
    }
  }
};

// Helper threads parked on a condition variable. One job at a time: whoever owns `busy_`
// publishes a job and runs chunks itself. Chunks are claimed dynamically, so a helper that is
// slow to wake (descheduled by the VM) never holds the caller up: once every chunk is claimed
// the caller closes the job and waits only for helpers that joined and are still running one.
class ThreadPool {
 public:
  // Runs `job` on the caller plus up to `helper_count` pool threads. Returns false, having
  // done nothing, when another caller owns the pool.
  bool try_run(Job& job, int helper_count) {
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) return false;
    start_threads(helper_count);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      helpers_wanted_ = helper_count;
      ++generation_;
      published_generation_.store(generation_, std::memory_order_release);
    }
    wake_.notify_all();
    job.run_chunks();
    spin_until([this] { return helpers_active_.load(std::memory_order_acquire) == 0; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_ = nullptr;  // helpers waking from now on find no job to join
      done_.wait(lock, [this] { return helpers_active_.load(std::memory_order_relaxed) == 0; });
    }
    busy_.store(false, std::memory_order_release);
    return true;
  }

 private:
  // Grows the pool to `count` helpers. Called only by the owner of busy_.
  void start_threads(int count) {
    while (thread_count_ < count) {
      std::thread(&ThreadPool::helper_main, this, thread_count_, generation_).detach();
      ++thread_count_;
    }
  }

  // A helper joins the open job of every generation whose helpers_wanted_ includes its index.
  void helper_main(int index, uint64_t seen_generation) {
    for (;;) {
      Job* job;
      spin_until([&] { return published_generation_.load(std::memory_order_acquire) != seen_generation; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen_generation; });
        seen_generation = generation_;
        if (index >= helpers_wanted_ || job_ == nullptr) continue;
        job = job_;
        helpers_active_.fetch_add(1, std::memory_order_relaxed);
      }
      job->run_chunks();
      std::lock_guard<std::mutex> lock(mutex_);
      if (helpers_active_.fetch_sub(1, std::memory_order_release) == 1) done_.notify_one();
    }
  }

  std::atomic<bool> busy_{false};
  std::atomic<uint64_t> published_generation_{0};  // generation_, readable without the mutex
  std::atomic<int> helpers_active_{0};             // helpers inside the current job
  int thread_count_ = 0;  // touched only by the owner of busy_
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  Job* job_ = nullptr;  // the open job, null once its owner stopped waiting for helpers
  int helpers_wanted_ = 0;
};

// Whether this thread runs under SCHED_IDLE (set_idle_scheduling).
thread_local bool t_idle_scheduling = false;

// Created on first use and intentionally never destroyed: its threads outlive every Node
// worker_thread and are still parked, harmlessly, when the process exits. Threads under
// SCHED_IDLE get a pool of their own, whose helpers inherit the policy from the thread that
// starts them, so the normal pool's helpers never lose their priority.
ThreadPool& pool() {
  static ThreadPool* normal = new ThreadPool();
  static ThreadPool* idle = new ThreadPool();
  return t_idle_scheduling ? *idle : *normal;
}

}  // namespace

void set_num_threads(int n) { g_num_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

int get_num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

bool set_idle_scheduling(bool on) {
  if (on == t_idle_scheduling) return true;
#if defined(__linux__)
  sched_param param{};
  param.sched_priority = 0;
  if (sched_setscheduler(0, on ? SCHED_IDLE : SCHED_OTHER, &param) != 0) return false;  // 0: the calling thread
  t_idle_scheduling = on;
  return true;
#else
  return false;
#endif
}

namespace detail {

void run_in_pool(int64_t begin, int64_t end, int64_t grain, RangeFunction function, const void* context,
                 int chunks_per_thread) {
  int64_t most_chunks = (end - begin) / std::max<int64_t>(grain, 1);
  int64_t threads = std::min<int64_t>(get_num_threads(), most_chunks);
  if (threads > 1) {
    const int64_t chunks = std::min<int64_t>(threads * std::max(chunks_per_thread, 1), most_chunks);
    Job job(function, context, begin, end, chunks);
    if (pool().try_run(job, static_cast<int>(threads - 1))) return;
  }
  function(context, begin, end);
}

}  // namespace detail
}  // namespace kiln
