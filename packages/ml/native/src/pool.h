// Fixed-size worker pool: parallel_for hands out task indices through an atomic counter; the calling thread works too,
// so threads == 1 runs everything inline with no synchronisation cost.
#pragma once
#include <functional>

namespace synthmri {
void set_threads(int n);
int get_threads();
// Runs fn(task, worker) for task in [0, n); worker is in [0, get_threads()) and is stable within one task.
void parallel_for(long n, const std::function<void(long task, int worker)>& fn);

// Profiling for bench --profile (off by default; turning it on or off clears the counters). Not thread-safe against
// concurrent parallel_for callers: one JS thread drives the pool. Counters: [parallel_for calls, replayed wall ns of
// those calls on get_threads() idle cores, summed task CPU ns, caller-thread CPU ns inside them, caller thread CPU ns
// now]. A step's quiet-host estimate = caller CPU - caller CPU inside parallel_for + replayed ns.
void set_profiling(bool on);
void profile_counters(double* out);
}  // namespace synthmri
