// Internal helper of the pruners: choose the positions with the smallest
// scores, deterministically (ties go to the lower index).
//
// Thread-safety: pure function.
#ifndef FASTREL_ENGINE_COMPILE_SELECT_H_
#define FASTREL_ENGINE_COMPILE_SELECT_H_

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace fastrel::compile::internal {

// Fills (*order)[0 .. count) with the indices of the `count` smallest of
// scores[0 .. n), ties broken by the lower index (0 <= count <= n; scores must
// not be NaN). `order` is scratch, resized to n.
inline void SmallestIndices(const double* scores, int64_t n, int64_t count,
                            std::vector<int64_t>* order) {
  order->resize(static_cast<size_t>(n));
  std::iota(order->begin(), order->end(), int64_t{0});
  if (count <= 0 || count >= n) return;
  std::nth_element(order->begin(), order->begin() + count, order->end(),
                   [scores](int64_t a, int64_t b) {
                     return scores[a] < scores[b] ||
                            (scores[a] == scores[b] && a < b);
                   });
}

}  // namespace fastrel::compile::internal

#endif  // FASTREL_ENGINE_COMPILE_SELECT_H_
