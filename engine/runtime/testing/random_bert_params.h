// Test support: small BERT weights drawn from a seeded normal distribution,
// for encoder tests that need a deterministic model without files.
#ifndef FASTREL_ENGINE_RUNTIME_TESTING_RANDOM_BERT_PARAMS_H_
#define FASTREL_ENGINE_RUNTIME_TESTING_RANDOM_BERT_PARAMS_H_

#include <cstdint>

#include "engine/runtime/bert_encoder.h"

namespace fastrel::testutil {

// A tiny BERT shape for tests: vocab 50, hidden 32, 3 layers, 4 heads, FFN
// 64, 2 token types, sequences up to `max_positions` tokens.
EncoderDims TinyEncoderDims(int max_positions);

// Every weight and bias ~ N(0, 0.3) from mt19937(seed) (LayerNorm gamma
// shifted by +1), in a fixed order, so the same (dims, seed) always gives the
// same params. Fine for tiny dims; BERT-base-sized models should use
// fastrel-bench's fast synthetic generator instead.
BertParams NormalRandomBertParams(const EncoderDims& dims, uint32_t seed);

}  // namespace fastrel::testutil

#endif  // FASTREL_ENGINE_RUNTIME_TESTING_RANDOM_BERT_PARAMS_H_
