// Labeled (query, document, label) pairs from a TSV file: the format of
// ../shared/data/dev.tsv, used for calibration, evaluation and benchmarks.
#ifndef FASTREL_ENGINE_DATA_LABELED_PAIRS_H_
#define FASTREL_ENGINE_DATA_LABELED_PAIRS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fastrel {

struct LabeledPair {
  std::string query;
  std::string document;
  // 0 or 1; -1 when the file has no label column.
  int label = -1;
};

struct ReadPairsOptions {
  // Read at most this many rows (0 = all).
  size_t max_rows = 0;
  // Require the label column (for evaluation); calibration does not.
  bool require_labels = false;
};

// Reads a TSV whose first line is the header `query<TAB>document[<TAB>label]`.
// Every row must have the header's number of columns, a non-empty query and
// document in valid UTF-8, and a label of 0 or 1 when the column exists.
// Errors are INVALID_ARGUMENT (NOT_FOUND for a missing file) and name the file
// and the 1-based line number.
absl::StatusOr<std::vector<LabeledPair>> ReadLabeledPairs(
    const std::string& path, const ReadPairsOptions& options = {});

}  // namespace fastrel

#endif  // FASTREL_ENGINE_DATA_LABELED_PAIRS_H_
