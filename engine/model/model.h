// A loaded model: config, tokenizer, weights (encoders) and variants. This is
// the engine's facade used by the server and the tools.
#ifndef FASTREL_ENGINE_MODEL_MODEL_H_
#define FASTREL_ENGINE_MODEL_MODEL_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/model_config.h"
#include "engine/runtime/attention_block.h"
#include "engine/runtime/encoder.h"
#include "engine/runtime/length_config.h"
#include "engine/tokenizer/tokenizer.h"

namespace fastrel {

// A named, runnable (weights, length configuration) pair.
struct Variant {
  std::string name;
  // Which encoder of the model runs this variant ("" = primary weights).
  std::string weights;
  LengthConfig length;
  // Measured accuracy (AUC) on a labeled set; 0 = not measured.
  double auc = 0;
  // The labeled set `auc` was measured on (file name and row count).
  std::string auc_data;
  // Cost relative to the full variant (1.0); 0 = not measured.
  double relative_cost = 0;
};

struct ModelLoadOptions {
  // Cap on sequence length; 0 = the model's max_position_embeddings.
  int max_seq_len = 0;
  // Attention arithmetic of a compiled (int8) model; unset = its default
  // (compiled_model.h). fp32 models always use fp32 attention.
  std::optional<AttentionPrecision> attention = std::nullopt;
};

// Thread safety: immutable after Load; all methods may be called concurrently.
class Model {
 public:
  // Loads a Hugging Face BERT directory (config.json, model.safetensors in
  // F32/F16/BF16, vocab.txt, optional tokenizer_config.json with
  // do_lower_case, default true) into an fp32 encoder. version() is the
  // FNV-1a 64-bit hash of model.safetensors (16 hex digits); variants() is
  // "full" followed by the valid variants of variants.textproto if present
  // (policy and problems reported in variant_warnings(): see
  // variants_file.h; a bad variants file never fails Load); max_seq_len() =
  // min(options.max_seq_len if > 0, max_position_embeddings). A compiled
  // directory (one holding fastrel_model.textproto, see compiled_model.h)
  // loads its int8 / sparse encoder instead, and version() is its
  // weights_checksum; its variants come from the same variants.textproto.
  // Variant weights (variants_file.h): each weights name used by a valid
  // variant is loaded once from weights/NAME/ (a compiled model of the same
  // source model: its source_checksum, or its base_source_checksum for a
  // fine-tuned copy, must be the primary's source, and its shapes this
  // config's; attention as for the primary); when a set does
  // not load (missing, corrupt, another model), every variant using it is
  // skipped with a warning naming the variant, the set and the reason, and
  // Load still succeeds. version() covers the primary weights only; each
  // variant set is checked against its own weights_checksum.
  // Errors name the file (and tensor) that is wrong: NOT_FOUND for a missing
  // file, INVALID_ARGUMENT / DATA_LOSS for a malformed one.
  static absl::StatusOr<std::unique_ptr<Model>> Load(
      const std::string& dir, const ModelLoadOptions& options = {});

  const std::string& dir() const { return dir_; }
  // A stable identifier of the weights (hash of the weight file).
  const std::string& version() const { return version_; }
  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  int max_seq_len() const { return max_seq_len_; }

  // Variants, most accurate first; variants()[0] is the full model.
  const std::vector<Variant>& variants() const { return variants_; }
  // The variant called `name`, or nullptr.
  const Variant* FindVariant(std::string_view name) const;
  // Problems found in the model directory's variants file (file that does
  // not parse, variants skipped and why); empty when none.
  const std::vector<std::string>& variant_warnings() const {
    return variant_warnings_;
  }
  // Loads the variant weight set `name` (weights/NAME/, checked as in Load)
  // into a new encoder owned by the caller, whether or not a variant uses it
  // (the variant search tries sets before any variant names them).
  // INVALID_ARGUMENT for a name that is not IsValidWeightsName; NOT_FOUND /
  // INVALID_ARGUMENT / DATA_LOSS naming the directory when it does not load.
  absl::StatusOr<std::unique_ptr<Encoder>> LoadWeightSet(
      const std::string& name) const;
  // The encoder that runs `variant`, which must be one of variants() (each
  // of whose weights is loaded); the primary encoder for weights "".
  const Encoder& encoder(const Variant& variant) const;

 private:
  Model() = default;

  std::string dir_;
  std::string version_;
  ModelConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  int max_seq_len_ = 0;
  std::vector<Variant> variants_;
  std::vector<std::string> variant_warnings_;
  // Checksum of the fp32 model the weights were made from, and the load
  // options (for variant weight sets).
  std::string source_checksum_;
  ModelLoadOptions options_;
  // Encoders by weights name; "" = primary.
  std::vector<std::pair<std::string, std::unique_ptr<Encoder>>> encoders_;
};

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_MODEL_H_
