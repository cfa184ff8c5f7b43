// Reader of the golden (query, document, logit) file shared by the tests:
// FASTREL_SHARED_DIR/golden/pairs.jsonl, produced by the PyTorch reference.
#ifndef FASTREL_TESTS_GOLDEN_PAIRS_H_
#define FASTREL_TESTS_GOLDEN_PAIRS_H_

#include <string>
#include <vector>

namespace fastrel::testing {

struct GoldenPair {
  std::string query;
  std::string document;
  // Logit of the full model.
  double logit_full = 0;
  // [CLS] q [SEP] d [SEP] length after truncation.
  int num_tokens = 0;
};

// All pairs of pairs.jsonl in file order; empty when the file is missing
// (tests then fail with a message naming it).
std::vector<GoldenPair> LoadGoldenPairs();

// The path LoadGoldenPairs reads.
std::string GoldenPairsPath();

}  // namespace fastrel::testing

#endif  // FASTREL_TESTS_GOLDEN_PAIRS_H_
