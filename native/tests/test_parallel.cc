// The thread pool: coverage of the range, the serial fast path, nesting, concurrent callers.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

#include "check.h"
#include "parallel.h"

using kiln::get_num_threads;
using kiln::parallel_for;
using kiln::parallel_for_balanced;
using kiln::set_num_threads;

// Counts how often each index of [0, n) is visited by parallel_for(0, n, grain), or by
// parallel_for_balanced when `balanced`.
static std::vector<int> visit_counts(int64_t n, int64_t grain, bool balanced = false) {
  std::vector<std::atomic<int>> counts(static_cast<size_t>(n));
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) counts[i].fetch_add(1);
  };
  if (balanced) {
    parallel_for_balanced(0, n, grain, body);
  } else {
    parallel_for(0, n, grain, body);
  }
  std::vector<int> result;
  for (auto& count : counts) result.push_back(count.load());
  return result;
}

TEST(every_index_is_visited_once) {
  for (int threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    for (int64_t n : {0, 1, 2, 7, 97, 1000, 100003}) {
      for (int64_t grain : {1, 3, 64, 100000}) {
        for (bool balanced : {false, true}) {
          std::vector<int> counts = visit_counts(n, grain, balanced);
          CHECK(counts == std::vector<int>(static_cast<size_t>(n), 1));
        }
      }
    }
  }
  set_num_threads(2);
}

TEST(chunks_are_at_least_grain_long) {
  set_num_threads(8);
  std::atomic<int64_t> shortest{1 << 30};
  parallel_for(0, 1000, 100, [&](int64_t begin, int64_t end) {
    int64_t length = end - begin;
    int64_t seen = shortest.load();
    while (length < seen && !shortest.compare_exchange_weak(seen, length)) {
    }
  });
  CHECK(shortest.load() >= 100);
  set_num_threads(2);
}

TEST(balanced_loops_cut_several_chunks_per_thread_of_at_least_grain) {
  set_num_threads(2);
  std::atomic<int> chunks{0};
  std::atomic<int64_t> shortest{1 << 30};
  parallel_for_balanced(0, 1000, 10, [&](int64_t begin, int64_t end) {
    chunks.fetch_add(1);
    int64_t length = end - begin, seen = shortest.load();
    while (length < seen && !shortest.compare_exchange_weak(seen, length)) {
    }
  });
  CHECK(chunks.load() == 2 * kiln::kBalancedChunksPerThread);
  CHECK(shortest.load() >= 10);
  chunks = 0;
  parallel_for_balanced(0, 30, 10, [&](int64_t, int64_t) { chunks.fetch_add(1); });
  CHECK(chunks.load() == 3);  // no chunk shorter than the grain
}

TEST(small_ranges_run_on_the_caller) {
  set_num_threads(4);
  const std::thread::id caller = std::this_thread::get_id();
  bool on_caller = false;
  parallel_for(0, 10, 10, [&](int64_t, int64_t) { on_caller = std::this_thread::get_id() == caller; });
  CHECK(on_caller);
  set_num_threads(2);
}

TEST(nested_loops_run_serially_and_completely) {
  set_num_threads(3);
  std::atomic<int64_t> total{0};
  parallel_for(0, 64, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    }
  });
  CHECK(total.load() == 64 * 1000);
  set_num_threads(2);
}

TEST(concurrent_callers_all_finish_correctly) {
  set_num_threads(3);
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        std::vector<int> counts = visit_counts(5000, 16);
        if (counts != std::vector<int>(5000, 1)) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  CHECK(wrong.load() == 0);
  set_num_threads(2);
}

TEST(callers_on_threads_that_exit) {
  set_num_threads(2);
  for (int round = 0; round < 20; ++round) {
    std::thread short_lived([] { visit_counts(10000, 10); });
    short_lived.join();
  }
  CHECK(visit_counts(10000, 10) == std::vector<int>(10000, 1));
}

TEST(thread_count_is_at_least_one) {
  set_num_threads(0);
  CHECK(get_num_threads() == 1);
  set_num_threads(5);
  CHECK(get_num_threads() == 5);
  set_num_threads(2);
}

#if defined(__linux__)
// A SCHED_IDLE caller's loops run on helpers that are SCHED_IDLE too, and cover the range; a
// normal caller's loops afterwards still run on normal helpers.
TEST(idle_scheduling_moves_a_thread_and_its_helpers_to_sched_idle) {
  set_num_threads(2);
  auto policies_of_loop = [] {
    std::mutex mutex;
    std::set<int> policies;
    parallel_for(0, 64, 1, [&](int64_t, int64_t) {
      std::lock_guard<std::mutex> lock(mutex);
      policies.insert(sched_getscheduler(0));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // long enough for the helper to join
    });
    return policies;
  };
  bool switched = false;
  std::set<int> idle_policies;
  std::thread background([&] {
    switched = kiln::set_idle_scheduling(true);
    CHECK(kiln::set_idle_scheduling(true));  // already idle: nothing to change
    idle_policies = policies_of_loop();
    CHECK(visit_counts(10000, 10) == std::vector<int>(10000, 1));
  });
  background.join();
  CHECK(switched);
  CHECK(idle_policies == std::set<int>{SCHED_IDLE});
  CHECK(kiln::set_idle_scheduling(false));  // a normal thread: nothing to change
  CHECK(policies_of_loop().count(SCHED_IDLE) == 0);
}
#endif

KILN_TEST_MAIN()
