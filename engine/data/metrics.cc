#include "engine/data/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace fastrel {

absl::StatusOr<double> Auc(std::span<const float> scores,
                           std::span<const int> labels) {
  if (scores.size() != labels.size()) {
    return absl::InvalidArgumentError("AUC: scores and labels differ in size");
  }
  double pos = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      return absl::InvalidArgumentError("AUC: labels must be 0 or 1");
    }
    if (std::isnan(scores[i])) {
      return absl::InvalidArgumentError("AUC: a score is NaN");
    }
    pos += labels[i];
  }
  const double neg = static_cast<double>(labels.size()) - pos;
  if (pos == 0 || neg == 0) {
    return absl::InvalidArgumentError(
        "AUC: needs both positive and negative labels");
  }
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of (1-based, tie-averaged) ranks of the positives.
  double rank_sum = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + j) / 2.0;
    for (size_t k = i; k < j; ++k) rank_sum += labels[order[k]] * avg_rank;
    i = j;
  }
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

}  // namespace fastrel
