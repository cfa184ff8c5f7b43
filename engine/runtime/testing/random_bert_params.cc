#include "engine/runtime/testing/random_bert_params.h"

#include <random>
#include <utility>
#include <vector>

namespace fastrel::testutil {

EncoderDims TinyEncoderDims(int max_positions) {
  EncoderDims d;
  d.vocab_size = 50;
  d.hidden_size = 32;
  d.num_layers = 3;
  d.num_heads = 4;
  d.intermediate_size = 64;
  d.max_positions = max_positions;
  d.type_vocab_size = 2;
  return d;
}

BertParams NormalRandomBertParams(const EncoderDims& d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> w(0.0f, 0.3f);
  auto vec = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = w(rng);
    return v;
  };
  auto dense = [&](int in, int out) {
    DenseParams p;
    p.in = in;
    p.out = out;
    p.weight = vec(static_cast<size_t>(in) * out);
    p.bias = vec(out);
    return p;
  };
  auto norm = [&](int h) {
    LayerNormParams n;
    n.gamma = vec(h);
    for (float& g : n.gamma) g += 1.0f;
    n.beta = vec(h);
    return n;
  };
  const int H = d.hidden_size, I = d.intermediate_size;
  BertParams p;
  p.dims = d;
  p.word_embeddings = vec(static_cast<size_t>(d.vocab_size) * H);
  p.position_embeddings = vec(static_cast<size_t>(d.max_positions) * H);
  p.token_type_embeddings = vec(static_cast<size_t>(d.type_vocab_size) * H);
  p.embedding_norm = norm(H);
  for (int l = 0; l < d.num_layers; ++l) {
    BertLayerParams lp;
    lp.query = dense(H, H);
    lp.key = dense(H, H);
    lp.value = dense(H, H);
    lp.attention_output = dense(H, H);
    lp.attention_norm = norm(H);
    lp.intermediate = dense(H, I);
    lp.output = dense(I, H);
    lp.output_norm = norm(H);
    p.layers.push_back(std::move(lp));
  }
  p.pooler = dense(H, H);
  p.classifier = dense(H, 1);
  return p;
}

PackedBatch RandomPackedBatch(const std::vector<int>& lengths, uint32_t seed) {
  std::mt19937 rng(seed);
  PackedBatch b;
  for (int n : lengths) {
    std::vector<int32_t> ids(n), types(n);
    for (int i = 0; i < n; ++i) {
      ids[i] = static_cast<int32_t>(rng() % 50);
      types[i] = i >= n / 2 ? 1 : 0;
    }
    b.Add(ids, types);
  }
  return b;
}

}  // namespace fastrel::testutil
