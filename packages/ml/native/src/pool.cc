#include "pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

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

// How long an idle thread polls before it sleeps on a condition variable (SYNTHMRI_POOL_SPIN_US, default 1000). On the
// VMs this runs on, waking a sleeping thread goes through the hypervisor (tens to hundreds of microseconds per wake-up,
// twice per parallel_for: the workers at the start, the caller at the end), while a U-Net step makes ~300 parallel_for
// calls a few microseconds of JS apart (measured at 2 threads, high priority on the loaded 2-core host: 1000 us
// beat 200 us, which beat 0). Polling a little keeps both sides awake across those gaps; past the limit
// they sleep, so an idle process costs nothing and a loaded host loses at most this much per call.
long spin_limit_us() {
  const char* v = std::getenv("SYNTHMRI_POOL_SPIN_US");
  if (v == nullptr || *v == '\0') return 1000;
  char* end = nullptr;
  long us = std::strtol(v, &end, 10);
  return (end != nullptr && *end == '\0' && us >= 0) ? std::min(us, 100000L) : 1000;
}

// Whether an idle thread may poll now: only while the host's runnable threads fit its cores. On an oversubscribed host
// (TRAIN_PROCESSES children x threads > cores, or other load) a polling thread holds a core that a thread with work
// could have had, and every process slows down. /proc/loadavg's 4th field counts the runnable threads of the whole
// host, ours included (a polling thread is runnable, a sleeping one is not); the caller re-reads it at most every
// 20 ms (a few microseconds; measured on 3 processes x 2 threads on 2 cores: polling cost +65 % CPU seconds for the
// same steps, the host check brought it back to spin 0's), and the workers read the cached answer. SYNTHMRI_POOL_SPIN_ALWAYS=1 skips the check
// (A/B measurements); without /proc/loadavg the pool polls as before.
std::atomic<bool> host_has_room{true};
const bool spin_always = [] {
  const char* v = std::getenv("SYNTHMRI_POOL_SPIN_ALWAYS");
  return v != nullptr && v[0] == '1';
}();

long runnable_threads() {
  int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  ssize_t len = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (len <= 0) return -1;
  buf[len] = '\0';
  // "0.50 0.40 0.30 2/345 6789": runnable/total after the three averages.
  const char* slash = std::strchr(buf, '/');
  if (slash == nullptr) return -1;
  const char* p = slash;
  while (p > buf && p[-1] >= '0' && p[-1] <= '9') --p;
  return p == slash ? -1 : std::strtol(p, nullptr, 10);
}

void refresh_host_room() {
  if (spin_always) return;
  static const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  static auto next = std::chrono::steady_clock::time_point{};
  const auto now = std::chrono::steady_clock::now();
  if (now < next) return;
  next = now + std::chrono::milliseconds(20);
  // Off at the first sample over the cores, on again only after 5 samples in a row (100 ms) within them: with polling
  // off, the other processes' threads sleep while they wait too, so a single low sample says little.
  static int streak = 5;
  const long running = runnable_threads();
  streak = (running < 0 || running <= cores) ? std::min(streak + 1, 5) : 0;
  host_has_room.store(streak >= 5, std::memory_order_relaxed);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Polls `ready` for at most `us` microseconds; true as soon as it holds.
template <class Ready>
bool spin_until(long us, Ready ready) {
  if (us <= 0 || !host_has_room.load(std::memory_order_relaxed)) return ready();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

struct Pool {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done;
  // job and n are written before generation is bumped (release) and read after it is seen (acquire).
  const std::function<void(long, int)>* job = nullptr;
  long n = 0;
  std::atomic<long> next{0};
  std::atomic<int> active{0};  // workers still inside the current job
  std::atomic<unsigned> generation{0};
  std::atomic<bool> stop{false};
  int threads = 1;
  const long spinUs = spin_limit_us();

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
    auto ready = [&] { return stop.load(std::memory_order_acquire) || generation.load(std::memory_order_acquire) != seen; };
    for (;;) {
      if (!spin_until(spinUs, ready)) {
        std::unique_lock<std::mutex> lk(mu);
        wake.wait(lk, ready);
      }
      if (stop.load(std::memory_order_acquire)) return;
      seen = generation.load(std::memory_order_acquire);
      run_tasks(id);
      if (active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Under the lock: a caller between its check of `active` and its wait cannot miss this.
        std::lock_guard<std::mutex> lk(mu);
        done.notify_one();
      }
    }
  }
  // Runs the current job on the calling thread too, then waits for the workers.
  void run_and_wait() {
    run_tasks(0);
    auto finished = [&] { return active.load(std::memory_order_acquire) == 0; };
    if (!spin_until(spinUs, finished)) {
      std::unique_lock<std::mutex> lk(mu);
      done.wait(lk, finished);
    }
    job = nullptr;
  }
  void resize(int t) {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop.store(true, std::memory_order_release);
    }
    wake.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
    stop.store(false, std::memory_order_release);
    generation.store(0, std::memory_order_release);
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
  refresh_host_room();
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.job = &fn;
    p.n = n;
    p.next.store(0);
    p.active.store((int)p.workers.size(), std::memory_order_relaxed);
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.wake.notify_all();
  p.run_and_wait();
}
}  // namespace synthmri
