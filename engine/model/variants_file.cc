#include "engine/model/variants_file.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace fastrel {
namespace {

// Keeps the first parse error with its position (1-based line and column).
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (error_.empty()) {
      error_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ",
                            message);
    }
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// Why `v` is not a usable variant for a model of `num_layers` layers, or "".
std::string VariantProblem(const fastrel::v1::VariantProto& v, int num_layers) {
  if (!v.weights().empty()) {
    if (std::string p = WeightsNameProblem(v.weights()); !p.empty()) return p;
  }
  if (v.name() == kFullVariantName && !v.weights().empty()) {
    return "the name \"full\" is reserved for the full model on the primary "
           "weights (weights \"\")";
  }
  LengthConfig length;
  length.keep_ratios.assign(v.length().keep_ratios().begin(),
                            v.length().keep_ratios().end());
  if (absl::Status s = length.Validate(num_layers); !s.ok()) {
    return std::string(s.message());
  }
  if (v.name() == kFullVariantName && !length.is_full()) {
    return "the name \"full\" is reserved for the full model (every keep "
           "ratio 1.0)";
  }
  if (!(v.auc() >= 0.0 && v.auc() <= 1.0)) {
    return absl::StrCat("auc ", v.auc(), " is outside [0, 1]");
  }
  if (!(v.relative_cost() >= 0.0)) {
    return absl::StrCat("relative_cost ", v.relative_cost(), " is negative");
  }
  return "";
}

Variant FromProto(const fastrel::v1::VariantProto& v) {
  Variant out;
  out.name = v.name();
  out.weights = v.weights();
  out.length.keep_ratios.assign(v.length().keep_ratios().begin(),
                                v.length().keep_ratios().end());
  out.auc = v.auc();
  out.auc_data = v.auc_data();
  out.relative_cost = v.relative_cost();
  return out;
}

}  // namespace

bool IsValidWeightsName(std::string_view name) {
  if (name.empty() || name.size() > kMaxWeightsNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string WeightsNameProblem(std::string_view name) {
  if (IsValidWeightsName(name)) return "";
  return absl::StrCat(
      "weights \"", absl::CEscape(absl::string_view(name.data(), name.size())),
      "\" is not a weights name (1-", kMaxWeightsNameLength,
      " characters of A-Z a-z 0-9 _ -; \"\" = the primary "
      "weights)");
}

std::string VariantWeightsDir(const std::string& model_dir,
                              const std::string& weights) {
  return absl::StrCat(model_dir, "/", kVariantWeightsDirName, "/", weights);
}

Variant FullVariant() {
  Variant full;
  full.name = kFullVariantName;
  full.relative_cost = 1.0;
  return full;
}

VariantsReadResult VariantsFromProto(const fastrel::v1::VariantList& list,
                                     int num_layers,
                                     std::string_view source_view) {
  const std::string source(source_view);
  VariantsReadResult result;
  std::vector<Variant> others;
  Variant full = FullVariant();
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < list.variants_size(); ++i) {
    const fastrel::v1::VariantProto& v = list.variants(i);
    const std::string who = v.name().empty()
                                ? absl::StrCat("variant #", i + 1)
                                : absl::StrCat("variant \"", v.name(), "\"");
    std::string problem;
    if (v.name().empty()) {
      problem = "the name is empty";
    } else if (names.contains(v.name())) {
      problem = "the name is used by an earlier variant";
    } else {
      problem = VariantProblem(v, num_layers);
    }
    if (!problem.empty()) {
      result.warnings.push_back(
          absl::StrCat(source, ": ", who, " skipped: ", problem));
      continue;
    }
    names.insert(v.name());
    if (v.name() == kFullVariantName) {
      full = FromProto(v);
      full.length.keep_ratios.clear();  // all 1.0 = full
    } else {
      others.push_back(FromProto(v));
    }
  }
  result.variants.reserve(others.size() + 1);
  result.variants.push_back(std::move(full));
  for (Variant& v : others) result.variants.push_back(std::move(v));
  return result;
}

absl::StatusOr<fastrel::v1::VariantList> ParseVariantList(
    std::string_view text, std::string_view source_view) {
  const std::string source(source_view);
  google::protobuf::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  fastrel::v1::VariantList list;
  if (!parser.ParseFromString(std::string(text), &list)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": does not parse as fastrel.v1.VariantList: ",
                     errors.error().empty() ? "syntax error" : errors.error()));
  }
  return list;
}

VariantsReadResult ParseVariants(std::string_view text, int num_layers,
                                 std::string_view source) {
  absl::StatusOr<fastrel::v1::VariantList> list =
      ParseVariantList(text, source);
  if (!list.ok()) {
    VariantsReadResult result;
    result.variants.push_back(FullVariant());
    result.warnings.push_back(absl::StrCat(
        list.status().message(), "; using the built-in \"full\" variant only"));
    return result;
  }
  return VariantsFromProto(*list, num_layers, source);
}

VariantsReadResult ReadVariantsFile(const std::string& dir, int num_layers) {
  const std::string path = absl::StrCat(dir, "/", kVariantsFileName);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    VariantsReadResult result;
    result.variants.push_back(FullVariant());
    if (errno != ENOENT && access(path.c_str(), F_OK) == 0) {
      result.warnings.push_back(
          absl::StrCat(path, ": cannot be read (", std::strerror(errno),
                       "); using the built-in \"full\" variant only"));
    }
    return result;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseVariants(ss.str(), num_layers, path);
}

fastrel::v1::VariantList VariantsToProto(const std::vector<Variant>& variants) {
  fastrel::v1::VariantList list;
  for (const Variant& v : variants) {
    fastrel::v1::VariantProto* p = list.add_variants();
    p->set_name(v.name);
    p->set_weights(v.weights);
    for (double r : v.length.keep_ratios)
      p->mutable_length()->add_keep_ratios(r);
    p->set_auc(v.auc);
    p->set_auc_data(v.auc_data);
    p->set_relative_cost(v.relative_cost);
  }
  return list;
}

absl::Status WriteVariantsFile(const std::string& dir,
                               const fastrel::v1::VariantList& list) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(list, &text)) {
    return absl::InternalError("cannot print the variant list");
  }
  text = absl::StrCat(
      "# proto-file: proto/fastrel/v1/model.proto\n"
      "# proto-message: fastrel.v1.VariantList\n",
      text);
  const std::string path = absl::StrCat(dir, "/", kVariantsFileName);
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::NotFoundError(
          absl::StrCat(tmp, ": cannot create (", std::strerror(errno), ")"));
    }
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return absl::InternalError(absl::StrCat(tmp, ": write failed"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("rename ", tmp, " -> ", path, ": ", why));
  }
  return absl::OkStatus();
}

}  // namespace fastrel
