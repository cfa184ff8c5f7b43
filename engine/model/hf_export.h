// Export of a compiled model (compiled_model.h) as a Hugging Face BERT
// directory: the weights it serves, dequantized to fp32.
//
// Use: fine-tuning a compiled model with its sparsity mask fixed
// (tools/finetune/README.md: every pruned weight is an exact 0, every kept
// weight is its int8 value times its row scale, so the mask can be read back
// from the zeros), and inspecting a compiled model in other tools.
//
// Thread safety: free function without shared state.
#ifndef FASTREL_ENGINE_MODEL_HF_EXPORT_H_
#define FASTREL_ENGINE_MODEL_HF_EXPORT_H_

#include <string>

#include "absl/status/status.h"

namespace fastrel {

// The model.safetensors metadata key that carries an exported model's
// lineage: the source_checksum of the model the compiled one was made from
// (its base_source_checksum when it has one). fastrel-compile records it as
// CompiledModelInfo.base_source_checksum of whatever is compiled from the
// exported (and fine-tuned) weights.
inline constexpr char kBaseSourceChecksumKey[] = "fastrel_base_source_checksum";

// Writes `output_dir` (created with missing parents; it must not exist yet or
// be an empty directory, else ALREADY_EXISTS) holding config.json, vocab.txt
// and tokenizer_config.json copied from `compiled_dir` and model.safetensors
// in BertForSequenceClassification layout, every tensor F32:
//  * int8 encoder linears: weight[o][i] = weight_scale[o] * q[o][i] (pruned
//    weights are exactly 0); dense_fp32 linears as stored;
//  * word embeddings: row r = weight_scale[r] * q[r];
//  * everything else (embeddings, LayerNorms, biases, pooler, classifier)
//    as stored;
// and the metadata kBaseSourceChecksumKey.
// The compiled directory is fully validated first (ReadCompiledModel);
// errors name the file and tensor. On error output_dir may hold a partial
// export.
absl::Status ExportCompiledAsHf(const std::string& compiled_dir,
                                const std::string& output_dir);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_HF_EXPORT_H_
