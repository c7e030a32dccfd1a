#include "pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace synthmri {
namespace {
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

void parallel_for(long n, const std::function<void(long, int)>& fn) {
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
