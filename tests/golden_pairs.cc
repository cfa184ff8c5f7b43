#include "tests/golden_pairs.h"

#include <fstream>

#include "nlohmann/json.hpp"

namespace fastrel::testing {

std::string GoldenPairsPath() {
  return std::string(FASTREL_SHARED_DIR) + "/golden/pairs.jsonl";
}

std::vector<GoldenPair> LoadGoldenPairs() {
  std::vector<GoldenPair> pairs;
  std::ifstream in(GoldenPairsPath());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr,
                                             /*allow_exceptions=*/false);
    if (j.is_discarded()) continue;
    GoldenPair p;
    p.query = j.value("query", "");
    p.document = j.value("document", "");
    p.logit_full = j.value("logit_full", 0.0);
    if (j.contains("input_ids")) {
      p.num_tokens = static_cast<int>(j["input_ids"].size());
    }
    pairs.push_back(std::move(p));
  }
  return pairs;
}

}  // namespace fastrel::testing
