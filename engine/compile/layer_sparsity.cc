#include "engine/compile/layer_sparsity.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace fastrel::compile {
namespace {

constexpr char kFlag[] = "--layer_sparsity";

absl::Status Bad(const std::string& item, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat(kFlag, ": '", item, "': ", why));
}

bool IsKind(const std::string& k) {
  return std::find(std::begin(kLinearKindNames), std::end(kLinearKindNames),
                   k) != std::end(kLinearKindNames);
}

std::string KindList() {
  std::vector<std::string> names;
  for (std::string_view k : kLinearKindNames) names.emplace_back(k);
  return absl::StrJoin(names, ", ");
}

std::string SelectorName(const LayerSparsityRule& r) {
  return r.layer ? absl::StrCat(*r.layer, ".", r.kind) : r.kind;
}

}  // namespace

absl::StatusOr<LayerSparsitySpec> ParseLayerSparsity(std::string_view spec) {
  LayerSparsitySpec out;
  const std::string all(absl::StripAsciiWhitespace(std::string(spec)));
  if (all.empty()) return out;
  std::set<std::string> seen;
  for (absl::string_view part_v : absl::StrSplit(all, ',')) {
    const std::string item(absl::StripAsciiWhitespace(part_v));
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kFlag, ": empty item in '", all, "'"));
    }
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Bad(item, "want SELECTOR=VALUE, e.g. query=0.5 or 3.key=dense");
    }
    const std::string sel(
        absl::StripAsciiWhitespace(absl::string_view(item).substr(0, eq)));
    const std::string val(
        absl::StripAsciiWhitespace(absl::string_view(item).substr(eq + 1)));
    LayerSparsityRule rule;
    const size_t dot = sel.find('.');
    if (dot == std::string::npos) {
      rule.kind = sel;
    } else {
      const std::string layer = sel.substr(0, dot);
      rule.kind = sel.substr(dot + 1);
      int l;
      if (layer.empty() ||
          !std::all_of(layer.begin(), layer.end(),
                       [](char c) { return c >= '0' && c <= '9'; }) ||
          !absl::SimpleAtoi(layer, &l)) {
        return Bad(item, absl::StrCat("layer index '", layer,
                                      "' is not a non-negative integer"));
      }
      rule.layer = l;
    }
    if (rule.kind == "*") {
      if (!rule.layer) {
        return Bad(item, "'*' needs a layer index, e.g. 3.*=0.9");
      }
    } else if (!IsKind(rule.kind)) {
      return Bad(item, absl::StrCat("unknown linear kind '", rule.kind,
                                    "' (want one of ", KindList(),
                                    ", or * "
                                    "after a layer index)"));
    }
    if (val == "dense") {
      rule.sparsity = std::nullopt;
    } else {
      double s;
      if (!absl::SimpleAtod(val, &s) || !std::isfinite(s)) {
        return Bad(
            item, absl::StrCat("value '", val, "' is not a number or 'dense'"));
      }
      if (!(s > 0 && s < 1)) {
        return Bad(item, absl::StrCat("sparsity ", val,
                                      " must be in the open interval (0, 1) "
                                      "(use 'dense' for no pruning)"));
      }
      rule.sparsity = s;
    }
    if (!seen.insert(SelectorName(rule)).second) {
      return Bad(item, absl::StrCat("selector '", SelectorName(rule),
                                    "' is given more than once"));
    }
    out.rules.push_back(std::move(rule));
  }
  return out;
}

absl::Status LayerSparsitySpec::Validate(int num_layers) const {
  for (const LayerSparsityRule& r : rules) {
    if (r.layer && *r.layer >= num_layers) {
      return absl::InvalidArgumentError(
          absl::StrCat(kFlag, ": '", SelectorName(r), "': layer ", *r.layer,
                       " does not exist (the model has ", num_layers,
                       " layers, 0..", num_layers - 1, ")"));
    }
  }
  return absl::OkStatus();
}

std::optional<double> LayerSparsitySpec::Resolve(
    int layer, std::string_view kind,
    std::optional<double> default_sparsity) const {
  // Specificity: 3 = layer.kind, 2 = layer.*, 1 = kind.
  int best = 0;
  std::optional<double> value = default_sparsity;
  for (const LayerSparsityRule& r : rules) {
    int rank = 0;
    if (r.layer) {
      if (*r.layer != layer) continue;
      if (r.kind == kind) {
        rank = 3;
      } else if (r.kind == "*") {
        rank = 2;
      }
    } else if (r.kind == kind) {
      rank = 1;
    }
    if (rank > best) {
      best = rank;
      value = r.sparsity;
    }
  }
  return value;
}

double OverallSparsity(absl::Span<const LinearSparsity> linears) {
  double zeros = 0, total = 0;
  for (const LinearSparsity& l : linears) {
    zeros += static_cast<double>(l.weights) * l.sparsity;
    total += static_cast<double>(l.weights);
  }
  return total > 0 ? zeros / total : 0.0;
}

}  // namespace fastrel::compile
