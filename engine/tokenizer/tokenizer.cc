#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/tokenizer/basic_tokenizer.h"

namespace fastrel {

struct Tokenizer::EncodeScratch {
  EncodeScratch() {
    // Typical words are short: one allocation per buffer per call.
    constexpr size_t kInitial = 64;
    basic.token.reserve(kInitial);
    basic.lowered.reserve(kInitial);
    basic.nfd.reserve(kInitial);
    basic.word.reserve(kInitial);
    wordpiece.bounds.reserve(kInitial);
    wordpiece.piece.reserve(kInitial);
  }
  BasicTokenizerScratch basic;
  WordPieceScratch wordpiece;
};

absl::StatusOr<Tokenizer> Tokenizer::FromVocabFile(
    const std::string& path, const TokenizerOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open vocab file ", path,
                                            ": ", std::strerror(errno)));
  }
  std::string data((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read vocab file ", path));
  }
  if (data.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocab file ", path, " is empty"));
  }
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    size_t len = end - start;
    if (len > 0 && data[start + len - 1] == '\r') --len;
    tokens.emplace_back(data, start, len);
    start = end + 1;
  }
  absl::StatusOr<Tokenizer> tok = FromTokens(std::move(tokens), options);
  if (!tok.ok()) {
    return absl::Status(
        tok.status().code(),
        absl::StrCat("vocab file ", path, ": ", tok.status().message()));
  }
  return tok;
}

absl::StatusOr<Tokenizer> Tokenizer::FromTokens(
    std::vector<std::string> tokens, const TokenizerOptions& options) {
  if (tokens.empty()) {
    return absl::InvalidArgumentError("vocabulary is empty");
  }
  if (tokens.size() >
      static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("vocabulary is too large");
  }
  Tokenizer t;
  t.options_ = options;
  t.ids_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto [it, inserted] = t.ids_.emplace(tokens[i], static_cast<int32_t>(i));
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate token '", tokens[i], "' at lines ",
                       it->second + 1, " and ", i + 1));
    }
    t.max_token_bytes_ = std::max(t.max_token_bytes_, tokens[i].size());
  }
  t.tokens_ = std::move(tokens);
  struct Special {
    const char* name;
    int32_t* id;
  };
  for (const Special& s :
       {Special{"[CLS]", &t.cls_id_}, Special{"[SEP]", &t.sep_id_},
        Special{"[PAD]", &t.pad_id_}, Special{"[UNK]", &t.unk_id_}}) {
    *s.id = t.TokenId(s.name);
    if (*s.id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocabulary lacks the special token ", s.name));
    }
  }
  return t;
}

int32_t Tokenizer::TokenId(std::string_view token) const {
  // This Abseil build has its own absl::string_view (not std::string_view);
  // the map's transparent hash takes that type, so no std::string is built.
  auto it = ids_.find(absl::string_view(token.data(), token.size()));
  return it == ids_.end() ? -1 : it->second;
}

void Tokenizer::WordPiece(std::string_view word, int num_cps,
                          WordPieceScratch* scratch,
                          std::vector<int32_t>* out) const {
  if (num_cps > options_.max_input_chars_per_word) {
    out->push_back(unk_id_);
    return;
  }
  std::vector<uint32_t>& b = scratch->bounds;
  b.clear();
  for (size_t i = 0; i < word.size(); ++i) {
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) {
      b.push_back(static_cast<uint32_t>(i));
    }
  }
  b.push_back(static_cast<uint32_t>(word.size()));
  const size_t n = b.size() - 1;
  const size_t first = out->size();
  std::string& piece = scratch->piece;
  size_t start = 0;
  while (start < n) {
    const size_t prefix = start == 0 ? 0 : 2;
    size_t end = n;
    // Candidates longer than the longest token cannot match.
    while (end > start && b[end] - b[start] + prefix > max_token_bytes_) --end;
    int32_t id = -1;
    for (; end > start; --end) {
      const std::string_view sub = word.substr(b[start], b[end] - b[start]);
      if (start == 0) {
        id = TokenId(sub);
      } else {
        piece.assign("##");
        piece.append(sub);
        id = TokenId(piece);
      }
      if (id >= 0) break;
    }
    if (id < 0) {
      out->resize(first);
      out->push_back(unk_id_);
      return;
    }
    out->push_back(id);
    start = end;
  }
}

bool Tokenizer::EncodeInto(std::string_view text, size_t max_ids,
                           EncodeScratch* scratch,
                           std::vector<int32_t>* out) const {
  const size_t base = out->size();
  BasicTokenizer(options_.do_lower_case)
      .Run(text, &scratch->basic, [&](std::string_view word, int num_cps) {
        WordPiece(word, num_cps, &scratch->wordpiece, out);
        return out->size() - base <= max_ids;
      });
  if (out->size() - base > max_ids) {
    out->resize(base + max_ids);
    return true;
  }
  return false;
}

std::vector<std::string> Tokenizer::BasicTokenize(std::string_view text) const {
  std::vector<std::string> words;
  BasicTokenizerScratch scratch;
  BasicTokenizer(options_.do_lower_case)
      .Run(text, &scratch, [&](std::string_view word, int) {
        words.emplace_back(word);
        return true;
      });
  return words;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 4 + 4);
  EncodeScratch scratch;
  EncodeInto(text, std::numeric_limits<size_t>::max(), &scratch, &ids);
  return ids;
}

EncodedPair Tokenizer::EncodePair(std::string_view query,
                                  std::string_view document, int max_seq_len,
                                  int max_query_tokens) const {
  const int body = std::max(max_seq_len, 3) - 3;
  const size_t max_q =
      static_cast<size_t>(std::clamp(max_query_tokens, 0, body));
  EncodeScratch scratch;
  EncodedPair r;
  // Bounded: a huge max_seq_len must not allocate up front.
  r.input_ids.reserve(static_cast<size_t>(std::min(body, 1024)) + 3);
  r.input_ids.push_back(cls_id_);
  const bool cut_q = EncodeInto(query, max_q, &scratch, &r.input_ids);
  r.input_ids.push_back(sep_id_);
  const size_t q_part = r.input_ids.size();  // [CLS] q [SEP]
  const size_t max_d = static_cast<size_t>(body) - (q_part - 2);
  const bool cut_d = EncodeInto(document, max_d, &scratch, &r.input_ids);
  r.input_ids.push_back(sep_id_);
  r.token_type_ids.assign(r.input_ids.size(), 1);
  std::fill_n(r.token_type_ids.begin(), q_part, 0);
  r.truncated = cut_q || cut_d;
  return r;
}

}  // namespace fastrel
