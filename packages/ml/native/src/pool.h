// Fixed-size worker pool: parallel_for hands out task indices through an atomic counter; the calling thread works too,
// so threads == 1 runs everything inline with no synchronisation cost.
#pragma once
#include <functional>

namespace synthmri {
void set_threads(int n);
int get_threads();
// Runs fn(task, worker) for task in [0, n); worker is in [0, get_threads()) and is stable within one task.
void parallel_for(long n, const std::function<void(long task, int worker)>& fn);
}  // namespace synthmri
