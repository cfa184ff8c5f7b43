// variants.textproto: the variants of a model directory (HF or compiled),
// schema fastrel.v1.VariantList (proto/fastrel/v1/model.proto), protobuf text
// format so an operator can read and edit it.
//
// Error policy (the model always loads; bad variant data never fails Load):
//  - no variants.textproto: the built-in "full" variant only, no warning;
//  - the file cannot be read or does not parse (syntax error, unknown field,
//    wrong type): the built-in "full" variant only, and one warning naming
//    the file, line and column;
//  - a single bad variant is skipped with a warning naming it (or its index
//    when it has no name) and the reason; the other variants are kept. Bad =
//    empty name, a name already used by an earlier variant, a length config
//    that fails LengthConfig::Validate(num_layers) (wrong number of layers,
//    ratio outside (0, 1], not non-increasing), weights that are neither ""
//    nor a valid weights name (IsValidWeightsName), auc outside [0, 1] or
//    relative_cost < 0 (or NaN);
//  - "full" is reserved for the full model on the primary weights: a "full"
//    entry with a non-full length config or other weights is skipped
//    (warning); a valid one keeps its measured auc,
//    auc_data and relative_cost. "full" is always variants[0] (moved there,
//    or added with relative_cost 1.0 if missing);
//  - the other variants keep the file's order (most accurate first).
#ifndef FASTREL_ENGINE_MODEL_VARIANTS_FILE_H_
#define FASTREL_ENGINE_MODEL_VARIANTS_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/model.h"
#include "fastrel/v1/model.pb.h"

namespace fastrel {

// File name of the variants list inside a model directory.
inline constexpr char kVariantsFileName[] = "variants.textproto";
// Name of the always-present full-model variant.
inline constexpr char kFullVariantName[] = "full";

// Variant weights. A variant whose `weights` is a name W (not "") runs on the
// compiled weights in `<model dir>/weights/W/` (a fastrel-compile output
// directory of the same source model or of a fine-tuned copy of it, e.g.
// written with
// `fastrel-compile --output <model dir>/weights/W ...`); "" = the model's
// primary weights. Model::Load loads each named set once and checks it (see
// model.h); this file only checks the name's syntax.
inline constexpr char kVariantWeightsDirName[] = "weights";
inline constexpr size_t kMaxWeightsNameLength = 64;
// True when `name` is 1..kMaxWeightsNameLength characters of [A-Za-z0-9_-]
// (so it is one path component: no '/', no "..", no hidden files).
bool IsValidWeightsName(std::string_view name);
// "" when IsValidWeightsName(name), else the message naming the problem
// (for the variants file and for Model::LoadWeightSet).
std::string WeightsNameProblem(std::string_view name);
// `model_dir`/weights/`weights`.
std::string VariantWeightsDir(const std::string& model_dir,
                              const std::string& weights);

// The variants of a model and what was wrong with its variants file. A plain
// value.
struct VariantsReadResult {
  // variants[0] is "full"; never empty.
  std::vector<Variant> variants;
  // Human-readable problems (file did not parse, variant X skipped because
  // ...); empty when the file was absent or entirely valid.
  std::vector<std::string> warnings;
};

// The built-in full variant (weights "", full length, relative_cost 1.0).
Variant FullVariant();

// Applies the policy above to an already-parsed list for a model with
// `num_layers` encoder layers. `source` prefixes the warnings (e.g. the path).
VariantsReadResult VariantsFromProto(const fastrel::v1::VariantList& list,
                                     int num_layers, std::string_view source);

// Parses `text` (text-format VariantList) and applies the policy.
VariantsReadResult ParseVariants(std::string_view text, int num_layers,
                                 std::string_view source);

// Reads `dir`/variants.textproto and applies the policy.
VariantsReadResult ReadVariantsFile(const std::string& dir, int num_layers);

// Strict parse for tools: the list in `text`, or INVALID_ARGUMENT naming the
// line and column of the first syntax error. No semantic validation.
absl::StatusOr<fastrel::v1::VariantList> ParseVariantList(
    std::string_view text, std::string_view source);

// Converts variants to their proto form (e.g. to write them back).
fastrel::v1::VariantList VariantsToProto(const std::vector<Variant>& variants);

// Writes `list` as `dir`/variants.textproto in text format, atomically (a
// temporary file in `dir`, then rename), so a concurrent reader sees the old
// or the new file, never a partial one. INTERNAL / NOT_FOUND on I/O errors.
absl::Status WriteVariantsFile(const std::string& dir,
                               const fastrel::v1::VariantList& list);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_VARIANTS_FILE_H_
