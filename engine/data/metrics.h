// Ranking-quality metrics for evaluation and variant search.
#ifndef FASTREL_ENGINE_DATA_METRICS_H_
#define FASTREL_ENGINE_DATA_METRICS_H_

#include <span>

#include "absl/status/statusor.h"

namespace fastrel {

// Area under the ROC curve of `scores` against binary `labels` (0/1), with
// tied scores given their average rank (Mann-Whitney U). O(n log n).
// INVALID_ARGUMENT when sizes differ, a label is not 0/1, a score is NaN, or
// either class is empty.
absl::StatusOr<double> Auc(std::span<const float> scores,
                           std::span<const int> labels);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_DATA_METRICS_H_
