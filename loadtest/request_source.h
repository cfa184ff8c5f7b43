// Where request texts come from: a TSV of (query, document) pairs or
// synthetic text of given token lengths, plus how many documents a request
// carries. The source pre-builds a pool of ScoreRequests so the scheduler
// thread only picks a pointer at send time.
#ifndef FASTREL_LOADTEST_REQUEST_SOURCE_H_
#define FASTREL_LOADTEST_REQUEST_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fastrel/v1/scorer.pb.h"

namespace fastrel::loadtest {

// Rows of a TSV file: the query column's value with all documents seen with it.
struct Corpus {
  struct Group {
    std::string query;
    std::vector<std::string> documents;
  };
  std::vector<Group> groups;
  size_t num_rows = 0;
};

// Parses the dev.tsv layout: a header line naming the columns (must contain
// `query` and `document`; other columns such as `label` are ignored), then one
// row per pair. Errors name the file and line (empty query/document, missing
// column, invalid UTF-8 is left to the server). Rows sharing a query (need not
// be adjacent) form one group.
absl::StatusOr<Corpus> ParseTsv(const std::string& text,
                                const std::string& name);
absl::StatusOr<Corpus> LoadTsv(const std::string& path);

// Builds a corpus of synthetic text: `num_queries` queries of
// `query_tokens` words and `docs_per_query` documents of `doc_tokens` words,
// words drawn from a fixed list of common English words that a BERT WordPiece
// vocabulary holds as single tokens (so words ~= tokens).
Corpus SyntheticCorpus(int query_tokens, int doc_tokens, int num_queries,
                       int docs_per_query, uint64_t seed);

// Documents per request: uniform in [min, max] (min == max: fixed).
struct DocsRange {
  int min = 1;
  int max = 1;
};
// Parses "N" or "MIN:MAX" (1 <= MIN <= MAX <= 10000).
absl::StatusOr<DocsRange> ParseDocs(const std::string& text);

struct RequestPoolOptions {
  int pool_size = 1024;  // distinct requests, reused round robin
  DocsRange docs;
  std::string model;
  double budget_ms = 0;
  std::string variant;
  bool return_token_counts = false;
  uint64_t seed = 1;
};

// Immutable set of pre-built requests.
// Thread-safety: immutable after construction; safe to read concurrently.
class RequestPool {
 public:
  // Builds the pool. For each request, picks a random query group and takes
  // documents from it (filling from other groups when it has too few).
  // `corpus` must have at least one group with at least one document.
  RequestPool(const Corpus& corpus, const RequestPoolOptions& options);

  // The i-th request (i taken modulo size). Valid for the pool's lifetime.
  const fastrel::v1::ScoreRequest& Get(uint64_t i) const {
    return requests_[static_cast<size_t>(i % requests_.size())];
  }
  size_t size() const { return requests_.size(); }

 private:
  std::vector<fastrel::v1::ScoreRequest> requests_;
};

}  // namespace fastrel::loadtest

#endif  // FASTREL_LOADTEST_REQUEST_SOURCE_H_
