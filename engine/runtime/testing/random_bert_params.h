// Test support: small BERT weights drawn from a seeded normal distribution,
// and random packed batches for them, for encoder tests that need a
// deterministic model and input without files.
#ifndef FASTREL_ENGINE_RUNTIME_TESTING_RANDOM_BERT_PARAMS_H_
#define FASTREL_ENGINE_RUNTIME_TESTING_RANDOM_BERT_PARAMS_H_

#include <cstdint>
#include <vector>

#include "engine/runtime/bert_encoder.h"
#include "engine/runtime/packed_batch.h"

namespace fastrel::testutil {

// A tiny BERT shape for tests: vocab 50, hidden 32, 3 layers, 4 heads, FFN
// 64, 2 token types, sequences up to `max_positions` tokens.
EncoderDims TinyEncoderDims(int max_positions);

// Every weight and bias ~ N(0, 0.3) from mt19937(seed) (LayerNorm gamma
// shifted by +1), in a fixed order, so the same (dims, seed) always gives the
// same params. Fine for tiny dims; BERT-base-sized models should use
// fastrel-bench's fast synthetic generator instead.
BertParams NormalRandomBertParams(const EncoderDims& dims, uint32_t seed);

// One sequence per entry of `lengths` (each >= 1): token ids uniform in
// [0, 50) (TinyEncoderDims' vocab) from mt19937(seed), type 0 for the first
// half of each sequence and 1 for the rest. Same (lengths, seed), same batch.
PackedBatch RandomPackedBatch(const std::vector<int>& lengths, uint32_t seed);

}  // namespace fastrel::testutil

#endif  // FASTREL_ENGINE_RUNTIME_TESTING_RANDOM_BERT_PARAMS_H_
