#include "pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <time.h>

namespace synthmri {
namespace {
long long thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Profiling (bench --profile): each task's CPU time on the thread that ran it. Thread CPU time does not count the time
// a thread waits for a core, so on a loaded host it still says how long the task takes; replaying the tasks in index
// order onto `threads` idle cores (what the atomic counter does on a quiet host) gives the wall time of the
// parallel_for there.
struct Profile {
  bool on = false;
  double calls = 0, replayNs = 0, taskNs = 0, callerNs = 0;
  std::vector<long long> durations;
} profile;

double replay(const std::vector<long long>& d, long n, int threads) {
  std::vector<long long> free((size_t)threads, 0);
  for (long t = 0; t < n; ++t) *std::min_element(free.begin(), free.end()) += d[(size_t)t];
  return (double)*std::max_element(free.begin(), free.end());
}

struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done;
  const std::function<void(long, int)>* job = nullptr;
  long n = 0;
  std::atomic<long> next{0};
  int active = 0;       // workers still inside the current job
  unsigned generation = 0;
  bool stop = false;
  int threads = 1;

  void run_tasks(int worker) {
    if (profile.on) {
      for (long t; (t = next.fetch_add(1)) < n;) {
        long long t0 = thread_cpu_ns();
        (*job)(t, worker);
        profile.durations[(size_t)t] = thread_cpu_ns() - t0;
      }
      return;
    }
    for (long t; (t = next.fetch_add(1)) < n;) (*job)(t, worker);
  }
  void worker_main(int id) {
    unsigned seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lk(mu);
      wake.wait(lk, [&] { return stop || generation != seen; });
      if (stop) return;
      seen = generation;
      lk.unlock();
      run_tasks(id);
      lk.lock();
      if (--active == 0) done.notify_one();
    }
  }
  void resize(int t) {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    wake.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
    stop = false;
    threads = t;
    for (int i = 1; i < t; ++i) workers.emplace_back([this, i] { worker_main(i); });
  }
  ~Pool() { resize(1); }
};
Pool& pool() {
  static Pool p;
  return p;
}
}  // namespace

void set_threads(int n) {
  if (n < 1) n = 1;
  if (n > 64) n = 64;
  if (n != pool().threads) pool().resize(n);
}
int get_threads() { return pool().threads; }

static void parallel_for_run(long n, const std::function<void(long, int)>& fn);

void set_profiling(bool on) {
  profile = Profile{};
  profile.on = on;
}

void profile_counters(double* out) {
  out[0] = profile.calls;
  out[1] = profile.replayNs;
  out[2] = profile.taskNs;
  out[3] = profile.callerNs;
  out[4] = (double)thread_cpu_ns();
}

void parallel_for(long n, const std::function<void(long, int)>& fn) {
  if (!profile.on || n <= 0) return parallel_for_run(n, fn);
  profile.durations.assign((size_t)n, 0);
  long long c0 = thread_cpu_ns();
  if (pool().threads == 1 || n == 1) {
    // The inline path: time each task the same way.
    for (long t = 0; t < n; ++t) {
      long long t0 = thread_cpu_ns();
      fn(t, 0);
      profile.durations[(size_t)t] = thread_cpu_ns() - t0;
    }
  } else {
    parallel_for_run(n, fn);
  }
  profile.callerNs += (double)(thread_cpu_ns() - c0);
  profile.calls += 1;
  long long total = 0;
  for (long t = 0; t < n; ++t) total += profile.durations[(size_t)t];
  profile.taskNs += (double)total;
  profile.replayNs += replay(profile.durations, n, pool().threads);
}

static void parallel_for_run(long n, const std::function<void(long, int)>& fn) {
  Pool& p = pool();
  if (n <= 0) return;
  if (p.threads == 1 || n == 1) {
    for (long t = 0; t < n; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.job = &fn;
    p.n = n;
    p.next.store(0);
    p.active = (int)p.workers.size();
    ++p.generation;
  }
  p.wake.notify_all();
  p.run_tasks(0);
  std::unique_lock<std::mutex> lk(p.mu);
  p.done.wait(lk, [&] { return p.active == 0; });
  p.job = nullptr;
}
}  // namespace synthmri
