// kiln's own thread pool and the parallel loop every kernel uses.
//
// Why not OpenMP: a libgomp parallel region run inside a Node worker_thread crashes the
// process when that worker exits. This pool is process-wide, created on first use and never
// destroyed (its threads stay parked on a condition variable), so workers that come and go,
// and process exit, are safe.
//
// Rules of parallel_for:
// - it splits [begin, end) only into chunks of at least `grain` items, and only when more than
//   one thread is allowed, so a small op never pays for waking threads;
// - the calling thread runs one share of the work itself;
// - if the pool is already busy (another Node worker_thread is using it, or parallel_for is
//   called from inside a parallel loop) the loop runs serially on the caller, never blocks.
#pragma once

#include <cstdint>

namespace kiln {

// Sets how many threads parallel loops may use, the caller included (n >= 1).
void set_num_threads(int n);

// How many threads parallel loops may use; defaults to std::thread::hardware_concurrency().
int get_num_threads();

// Puts the calling thread under Linux's SCHED_IDLE policy: it runs on CPU time no normal
// thread wants, and a normal thread that wakes up preempts it at once. Its parallel loops then
// use a second pool whose helpers it starts (so they inherit the policy), leaving the normal
// pool's helpers as they are. For a background trainer beside a server's request thread.
// set_idle_scheduling(false) returns it to the normal policy and pool (leaving SCHED_IDLE needs
// CAP_SYS_NICE unless RLIMIT_NICE allows nice 0). Returns false, changing nothing, where the
// policy does not exist (not Linux) or the change is refused; true when nothing had to change.
bool set_idle_scheduling(bool on);

namespace detail {
using RangeFunction = void (*)(const void* context, int64_t begin, int64_t end);

// Runs function(context, chunk_begin, chunk_end) over chunks covering [begin, end) on the
// pool, or serially when the pool is busy: up to chunks_per_thread chunks per thread, each at
// least `grain` long, claimed by whichever thread is free.
void run_in_pool(int64_t begin, int64_t end, int64_t grain, RangeFunction function, const void* context,
                 int chunks_per_thread);

template <typename Body>
void run_loop(int64_t begin, int64_t end, int64_t grain, const Body& body, int chunks_per_thread) {
  if (end <= begin) return;
  if (end - begin <= grain || get_num_threads() <= 1) {
    body(begin, end);
    return;
  }
  auto call_body = [](const void* context, int64_t chunk_begin, int64_t chunk_end) {
    (*static_cast<const Body*>(context))(chunk_begin, chunk_end);
  };
  run_in_pool(begin, end, grain, call_body, &body, chunks_per_thread);
}
}  // namespace detail

// Calls body(chunk_begin, chunk_end) on disjoint chunks that together cover [begin, end),
// possibly on several threads at once. Chunks are at least `grain` long (except when the whole
// range is shorter), so grain should be the amount of work worth one thread wake-up.
// One chunk per thread: for loops whose chunks each pay a setup (each packs its own operands).
template <typename Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  detail::run_loop(begin, end, grain, body, 1);
}

// Chunks per thread of parallel_for_balanced.
constexpr int kBalancedChunksPerThread = 4;

// parallel_for cut finer, up to kBalancedChunksPerThread chunks per thread (still at least
// `grain` each), which free threads claim one at a time: when the machine deschedules a
// helper, the caller takes its remaining chunks instead of waiting for them. For loops whose
// chunks cost nothing extra to start and whose results do not depend on the cut (each item
// computed the same way whatever chunk holds it).
template <typename Body>
void parallel_for_balanced(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  detail::run_loop(begin, end, grain, body, kBalancedChunksPerThread);
}

// A grain (in items) such that one chunk holds about kWorkPerChunk units of work when one item
// costs `work_per_item` units (roughly: floats touched).
constexpr int64_t kWorkPerChunk = 65536;
inline int64_t grain_for(int64_t work_per_item) {
  if (work_per_item < 1) work_per_item = 1;
  int64_t grain = kWorkPerChunk / work_per_item;
  return grain < 1 ? 1 : grain;
}

// Parallel loop over the output columns of a (outer, n, inner) block: the outer * inner
// positions (o, i), each costing `work_per_column`. body(o, i_begin, i_end) is called on
// segments of one row o, at most `max_width` columns wide, so the kernel's inner loop runs
// contiguously over i.
template <typename Body>
void parallel_for_columns(int64_t outer, int64_t inner, int64_t work_per_column, int64_t max_width,
                          const Body& body) {
  parallel_for(0, outer * inner, grain_for(work_per_column), [&](int64_t begin, int64_t end) {
    for (int64_t column = begin; column < end;) {
      int64_t o = column / inner;
      int64_t i_begin = column % inner;
      int64_t i_end = i_begin + (end - column);
      if (i_end > inner) i_end = inner;
      if (i_end - i_begin > max_width) i_end = i_begin + max_width;
      body(o, i_begin, i_end);
      column += i_end - i_begin;
    }
  });
}

}  // namespace kiln
