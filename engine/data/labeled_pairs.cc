#include "engine/data/labeled_pairs.h"

#include <fstream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/tokenizer.h"

namespace fastrel {
namespace {

absl::Status LineError(const std::string& path, size_t line,
                       const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", what));
}

// Splits on tabs. (Debian's Abseil has its own string_view type, so
// absl::StrSplit does not produce std::string_view.)
std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

}  // namespace

absl::StatusOr<std::vector<LabeledPair>> ReadLabeledPairs(
    const std::string& path, const ReadPairsOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string line;
  if (!std::getline(in, line)) return LineError(path, 1, "empty file");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::vector<std::string_view> header = SplitTabs(line);
  const bool has_label = header.size() == 3 && header[2] == "label";
  if (header.size() < 2 || header[0] != "query" || header[1] != "document" ||
      (header.size() == 3 && !has_label) || header.size() > 3) {
    return LineError(
        path, 1,
        "header must be query<TAB>document[<TAB>label], got \"" + line + "\"");
  }
  if (options.require_labels && !has_label) {
    return LineError(path, 1, "a label column is required");
  }
  std::vector<LabeledPair> rows;
  size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string_view> cols = SplitTabs(line);
    if (cols.size() != header.size()) {
      return LineError(
          path, lineno,
          absl::StrCat("expected ", header.size(),
                       " tab-separated columns, got ", cols.size()));
    }
    if (cols[0].empty()) return LineError(path, lineno, "empty query");
    if (cols[1].empty()) return LineError(path, lineno, "empty document");
    if (!IsValidUtf8(cols[0]) || !IsValidUtf8(cols[1])) {
      return LineError(path, lineno, "invalid UTF-8");
    }
    LabeledPair p{std::string(cols[0]), std::string(cols[1]), -1};
    if (has_label) {
      if (cols[2] == "0") {
        p.label = 0;
      } else if (cols[2] == "1") {
        p.label = 1;
      } else {
        return LineError(
            path, lineno,
            "label must be 0 or 1, got \"" + std::string(cols[2]) + "\"");
      }
    }
    rows.push_back(std::move(p));
    if (options.max_rows != 0 && rows.size() >= options.max_rows) break;
  }
  if (rows.empty()) return LineError(path, lineno, "no data rows");
  return rows;
}

}  // namespace fastrel
