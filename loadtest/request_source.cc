#include "loadtest/request_source.h"

#include <fstream>
#include <random>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fastrel::loadtest {

absl::StatusOr<Corpus> ParseTsv(const std::string& text,
                                const std::string& name) {
  if (text.empty()) return absl::InvalidArgumentError(name + ": file is empty");
  Corpus corpus;
  absl::flat_hash_map<std::string, size_t> group_of;
  int query_col = -1, doc_col = -1;
  size_t num_cols = 0;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1) {
      std::vector<absl::string_view> header = absl::StrSplit(line, '\t');
      num_cols = header.size();
      for (size_t c = 0; c < header.size(); ++c) {
        absl::string_view h = absl::StripAsciiWhitespace(header[c]);
        if (h == "query") query_col = static_cast<int>(c);
        if (h == "document") doc_col = static_cast<int>(c);
      }
      if (query_col < 0 || doc_col < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(name,
                         ":1: header must name the columns 'query' and "
                         "'document' (tab-separated, "
                         "e.g. query<TAB>document<TAB>label), got '",
                         line.substr(0, 80), "'"));
      }
      continue;
    }
    if (line.empty()) continue;
    std::vector<absl::string_view> cols = absl::StrSplit(line, '\t');
    if (cols.size() != num_cols) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", line_no, ": expected ", num_cols,
                       " tab-separated columns, found ", cols.size()));
    }
    const absl::string_view query = cols[static_cast<size_t>(query_col)];
    const absl::string_view doc = cols[static_cast<size_t>(doc_col)];
    if (absl::StripAsciiWhitespace(query).empty() ||
        absl::StripAsciiWhitespace(doc).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ":", line_no, ": empty ",
          absl::StripAsciiWhitespace(query).empty() ? "query" : "document"));
    }
    auto [it, inserted] =
        group_of.try_emplace(std::string(query), corpus.groups.size());
    if (inserted) corpus.groups.push_back({std::string(query), {}});
    corpus.groups[it->second].documents.emplace_back(doc);
    ++corpus.num_rows;
  }
  if (line_no == 0 || text.empty())
    return absl::InvalidArgumentError(name + ": file is empty");
  if (corpus.num_rows == 0) {
    return absl::InvalidArgumentError(name + ": no data rows after the header");
  }
  return corpus;
}

absl::StatusOr<Corpus> LoadTsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat("cannot open data file '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad())
    return absl::DataLossError(absl::StrCat("error reading '", path, "'"));
  return ParseTsv(buffer.str(), path);
}

namespace {
// Common English words; each is one token in the BERT uncased vocabulary.
constexpr const char* kWords[] = {
    "the",        "of",        "and",     "to",          "in",       "for",
    "is",         "on",        "that",    "by",          "this",     "with",
    "you",        "it",        "not",     "or",          "be",       "are",
    "from",       "at",        "as",      "your",        "all",      "have",
    "new",        "more",      "an",      "was",         "we",       "will",
    "home",       "can",       "about",   "if",          "page",     "my",
    "has",        "search",    "free",    "but",         "our",      "one",
    "other",      "do",        "no",      "information", "time",     "they",
    "site",       "he",        "up",      "may",         "what",     "which",
    "their",      "news",      "out",     "use",         "any",      "there",
    "see",        "only",      "so",      "his",         "when",     "contact",
    "here",       "business",  "who",     "web",         "also",     "now",
    "help",       "get",       "view",    "online",      "first",    "been",
    "would",      "how",       "were",    "me",          "services", "some",
    "these",      "click",     "its",     "like",        "service",  "than",
    "find",       "price",     "date",    "back",        "top",      "people",
    "had",        "list",      "name",    "just",        "over",     "state",
    "year",       "day",       "into",    "email",       "two",      "health",
    "world",      "next",      "used",    "go",          "work",     "last",
    "most",       "products",  "music",   "buy",         "data",     "make",
    "them",       "should",    "product", "system",      "post",     "her",
    "city",       "add",       "policy",  "number",      "such",     "please",
    "available",  "copyright", "support", "message",     "after",    "best",
    "software",   "then",      "jan",     "good",        "video",    "well",
    "where",      "info",      "rights",  "public",      "books",    "high",
    "school",     "through",   "each",    "links",       "she",      "review",
    "years",      "order",     "very",    "privacy",     "book",     "items",
    "company",    "read",      "group",   "need",        "many",     "user",
    "said",       "does",      "set",     "under",       "general",  "research",
    "university", "mail",
};
constexpr size_t kNumWords = sizeof(kWords) / sizeof(kWords[0]);

std::string RandomText(int words, std::mt19937_64& rng) {
  std::uniform_int_distribution<size_t> pick(0, kNumWords - 1);
  std::string out;
  for (int i = 0; i < words; ++i) {
    if (i > 0) out += ' ';
    out += kWords[pick(rng)];
  }
  return out;
}
}  // namespace

Corpus SyntheticCorpus(int query_tokens, int doc_tokens, int num_queries,
                       int docs_per_query, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Corpus corpus;
  for (int q = 0; q < num_queries; ++q) {
    Corpus::Group group{RandomText(query_tokens, rng), {}};
    for (int d = 0; d < docs_per_query; ++d)
      group.documents.push_back(RandomText(doc_tokens, rng));
    corpus.num_rows += group.documents.size();
    corpus.groups.push_back(std::move(group));
  }
  return corpus;
}

absl::StatusOr<DocsRange> ParseDocs(const std::string& text) {
  constexpr int kMaxDocs = 10000;
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  DocsRange range;
  bool ok = false;
  if (parts.size() == 1) {
    ok = absl::SimpleAtoi(parts[0], &range.min);
    range.max = range.min;
  } else if (parts.size() == 2) {
    ok = absl::SimpleAtoi(parts[0], &range.min) &&
         absl::SimpleAtoi(parts[1], &range.max);
  }
  if (!ok || range.min < 1 || range.max < range.min || range.max > kMaxDocs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--docs must be N or MIN:MAX with 1 <= MIN <= MAX <= ", kMaxDocs,
        ", got '", text, "'"));
  }
  return range;
}

RequestPool::RequestPool(const Corpus& corpus,
                         const RequestPoolOptions& options) {
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<size_t> pick_group(0, corpus.groups.size() - 1);
  std::uniform_int_distribution<int> pick_docs(options.docs.min,
                                               options.docs.max);
  const int pool_size = std::max(1, options.pool_size);
  requests_.reserve(static_cast<size_t>(pool_size));
  for (int i = 0; i < pool_size; ++i) {
    fastrel::v1::ScoreRequest request;
    request.set_model(options.model);
    const Corpus::Group& group = corpus.groups[pick_group(rng)];
    request.set_query(group.query);
    const size_t docs = static_cast<size_t>(pick_docs(rng));
    // The query's own documents first (its labeled candidates, like a real
    // candidate list), then documents of random other queries.
    for (size_t d = 0; d < docs; ++d) {
      if (d < group.documents.size()) {
        request.add_documents(group.documents[d]);
      } else {
        const Corpus::Group& other = corpus.groups[pick_group(rng)];
        std::uniform_int_distribution<size_t> pick_doc(
            0, other.documents.size() - 1);
        request.add_documents(other.documents[pick_doc(rng)]);
      }
    }
    fastrel::v1::ScoreOptions* opts = request.mutable_options();
    opts->set_budget_ms(options.budget_ms);
    opts->set_variant(options.variant);
    opts->set_return_token_counts(options.return_token_counts);
    requests_.push_back(std::move(request));
  }
}

}  // namespace fastrel::loadtest
