#include "engine/runtime/bert_encoder.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "engine/runtime/testing/random_bert_params.h"
#include "gtest/gtest.h"

namespace fastrel {
namespace {

// Same math in a different batch composition: only GEMM row blocking differs.
constexpr float kBatchingTol = 1e-5f;

EncoderDims TinyDims() { return testutil::TinyEncoderDims(24); }

BertParams RandomParams(const EncoderDims& d, uint32_t seed) {
  return testutil::NormalRandomBertParams(d, seed);
}

class BertEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto enc = NewFp32Encoder(RandomParams(TinyDims(), 3));
    ASSERT_TRUE(enc.ok()) << enc.status();
    encoder_ = std::move(*enc);
    ws_ = encoder_->NewWorkspace();
  }
  std::unique_ptr<BertEncoder> encoder_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(BertEncoderTest, RejectsBadParams) {
  BertParams p = RandomParams(TinyDims(), 3);
  p.layers[1].output.bias.pop_back();
  auto enc = NewFp32Encoder(std::move(p));
  ASSERT_FALSE(enc.ok());
  EXPECT_NE(
      enc.status().message().find("bert.encoder.layer.1.output.dense.bias"),
      std::string::npos)
      << enc.status();
}

// Int8 word-embedding rows with a per-row scale (how compiled models keep
// them) score exactly like the fp32 table of the same dequantized values.
TEST_F(BertEncoderTest, Int8WordEmbeddingsEqualTheirDequantizedTable) {
  BertParams p = RandomParams(TinyDims(), 5);
  const int vocab = p.dims.vocab_size, h = p.dims.hidden_size;
  BertParams q = p;
  q.word_embeddings.clear();
  q.word_embeddings_i8.resize(static_cast<size_t>(vocab) * h);
  q.word_embedding_scale.resize(vocab);
  for (int r = 0; r < vocab; ++r) {
    q.word_embedding_scale[r] = 0.01f + 0.001f * r;
    for (int c = 0; c < h; ++c) {
      const size_t i = static_cast<size_t>(r) * h + c;
      q.word_embeddings_i8[i] =
          static_cast<int8_t>((r * 31 + c * 7) % 255 - 127);
      p.word_embeddings[i] = q.word_embedding_scale[r] *
                             static_cast<float>(q.word_embeddings_i8[i]);
    }
  }
  auto fp = NewFp32Encoder(p);
  auto i8 = NewFp32Encoder(q);
  ASSERT_TRUE(fp.ok()) << fp.status();
  ASSERT_TRUE(i8.ok()) << i8.status();
  // Odd lengths and a hidden size of 24 exercise the 16-wide chunks and the
  // tail.
  const std::vector<int> lengths = {5, 24, 1, 13};
  const PackedBatch batch = testutil::RandomPackedBatch(lengths, 11);
  std::vector<float> want(lengths.size()), got(lengths.size());
  auto ws_fp = (*fp)->NewWorkspace();
  auto ws_i8 = (*i8)->NewWorkspace();
  ASSERT_TRUE((*fp)->Forward(batch, {}, ws_fp.get(), want).ok());
  ASSERT_TRUE((*i8)->Forward(batch, {}, ws_i8.get(), got).ok());
  for (size_t s = 0; s < lengths.size(); ++s) EXPECT_EQ(got[s], want[s]) << s;

  // Exactly one form, of the right sizes.
  BertParams both = q;
  both.word_embeddings = p.word_embeddings;
  BertParams short_scale = q;
  short_scale.word_embedding_scale.pop_back();
  for (BertParams* bad : {&both, &short_scale}) {
    auto enc = NewFp32Encoder(*bad);
    ASSERT_FALSE(enc.ok());
    EXPECT_NE(enc.status().message().find("int8 rows"), std::string::npos)
        << enc.status();
  }
}

TEST_F(BertEncoderTest, PackedEqualsSingleAndWorkspaceReuse) {
  const std::vector<int> lengths = {5, 24, 1, 13, 7};
  PackedBatch batch = testutil::RandomPackedBatch(lengths, 9);
  for (const LengthConfig& length :
       {LengthConfig{}, LengthConfig{{0.8, 0.5, 0.3}}}) {
    std::vector<float> packed(lengths.size());
    ASSERT_TRUE(encoder_->Forward(batch, length, ws_.get(), packed).ok());
    for (size_t s = 0; s < lengths.size(); ++s) {
      PackedBatch one;
      const int b = batch.offsets[s], e = batch.offsets[s + 1];
      one.Add(std::span(batch.input_ids).subspan(b, e - b),
              std::span(batch.token_type_ids).subspan(b, e - b));
      float logit = 0;
      ASSERT_TRUE(encoder_->Forward(one, length, ws_.get(), {&logit, 1}).ok());
      EXPECT_NEAR(logit, packed[s], kBatchingTol) << s;
    }
    // Dropping changes the result (the test would notice a no-op).
    if (!length.is_full()) {
      std::vector<float> full(lengths.size());
      ASSERT_TRUE(encoder_->Forward(batch, {}, ws_.get(), full).ok());
      EXPECT_GT(std::fabs(full[1] - packed[1]), 1e-4f);
    }
  }
}

TEST_F(BertEncoderTest, TraceRecordsKeptTokensAndObserverSeesEveryLinear) {
  const std::vector<int> lengths = {10, 3, 20};
  PackedBatch batch = testutil::RandomPackedBatch(lengths, 4);
  LengthConfig length{{0.9, 0.5, 0.5}};
  std::vector<LinearInput> seen;
  ForwardTrace trace;
  trace.linear_observer = [&](const LinearInput& in) { seen.push_back(in); };
  std::vector<float> logits(3), plain(3);
  ASSERT_TRUE(encoder_->Forward(batch, length, ws_.get(), logits, &trace).ok());
  ASSERT_TRUE(encoder_->Forward(batch, length, ws_.get(), plain).ok());
  for (int s = 0; s < 3; ++s) EXPECT_NEAR(logits[s], plain[s], kBatchingTol);
  ASSERT_EQ(trace.kept.size(), 3u);
  for (int s = 0; s < 3; ++s) {
    ASSERT_EQ(trace.kept[s].size(), 3u);
    for (int l = 0; l < 3; ++l) {
      const auto& k = trace.kept[s][l];
      EXPECT_EQ(static_cast<int>(k.size()), length.KeptTokens(l, lengths[s]));
      EXPECT_EQ(k[0], 0);  // [CLS]
      EXPECT_TRUE(std::is_sorted(k.begin(), k.end()));
      EXPECT_EQ(trace.significance[s][l].size(),
                l == 0 ? static_cast<size_t>(lengths[s])
                       : trace.kept[s][l - 1].size());
    }
  }
  // 6 linears per layer plus pooler and classifier, with the rows they saw.
  ASSERT_EQ(seen.size(), 3u * 6 + 2);
  EXPECT_EQ(seen[0].id.kind, LinearKind::kQuery);
  EXPECT_EQ(seen[0].rows, 33);
  EXPECT_EQ(seen[0].cols, 32);
  // The attention output (and everything after it) runs on the kept rows only.
  EXPECT_EQ(seen[3].id.kind, LinearKind::kAttentionOutput);
  EXPECT_EQ(seen[3].rows, 9 + 3 + 18);  // after layer 0 dropped tokens
  EXPECT_EQ(seen[4].id.kind, LinearKind::kIntermediate);
  EXPECT_EQ(seen[4].rows, 9 + 3 + 18);
  EXPECT_EQ(seen[5].cols, 64);
  EXPECT_EQ(seen[6].id.layer, 1);
  EXPECT_EQ(seen[18].id.kind, LinearKind::kPooler);
  EXPECT_EQ(seen[18].rows, 3);
  EXPECT_EQ(seen[19].id.kind, LinearKind::kClassifier);
}

// Significance sums the probabilities of every query row (not only the kept
// ones) over all heads, so each layer's significance adds up to heads x rows
// (every probability row sums to 1); fp32 column sums of <= 24 rows.
constexpr double kSignificanceSumTol = 1e-4;

TEST_F(BertEncoderTest, KeptTokensAreTheMostSignificant) {
  const std::vector<int> lengths = {24, 6, 17, 1, 11};
  PackedBatch batch = testutil::RandomPackedBatch(lengths, 12);
  // Layer 1 keeps all that layer 0 kept (k_1 = min(k_0, ceil(0.6 n)) = k_0),
  // layer 2 drops again; the 1-token sequence never drops.
  LengthConfig length{{0.6, 0.6, 0.25}};
  ForwardTrace trace;
  std::vector<float> logits(lengths.size());
  ASSERT_TRUE(encoder_->Forward(batch, length, ws_.get(), logits, &trace).ok());
  const int heads = TinyDims().num_heads;
  for (size_t s = 0; s < lengths.size(); ++s) {
    std::vector<int> positions(lengths[s]);
    for (int j = 0; j < lengths[s]; ++j) positions[j] = j;
    for (int l = 0; l < 3; ++l) {
      const std::vector<float>& sig = trace.significance[s][l];
      const int n = static_cast<int>(sig.size());
      ASSERT_EQ(n, static_cast<int>(positions.size()));
      double total = 0;
      for (float x : sig) total += x;
      EXPECT_NEAR(total, static_cast<double>(heads) * n,
                  kSignificanceSumTol * heads * n)
          << s << " " << l;
      // Expected: [CLS], then the most significant (ties to the lower row),
      // in the original order.
      const int k = length.KeptTokens(l, lengths[s]);
      std::vector<int> order(n);
      for (int j = 0; j < n; ++j) order[j] = j;
      std::stable_sort(order.begin() + 1, order.end(),
                       [&](int a, int b) { return sig[a] > sig[b]; });
      std::sort(order.begin() + 1, order.begin() + std::min(k, n));
      std::vector<int> want;
      for (int r = 0; r < std::min(k, n); ++r) {
        want.push_back(positions[order[r]]);
      }
      ASSERT_EQ(trace.kept[s][l], want) << s << " " << l;
      positions = want;
    }
  }
  // The trace does not change the result.
  std::vector<float> plain(lengths.size());
  ASSERT_TRUE(encoder_->Forward(batch, length, ws_.get(), plain).ok());
  for (size_t s = 0; s < lengths.size(); ++s) {
    EXPECT_NEAR(plain[s], logits[s], kBatchingTol);
  }
}

TEST_F(BertEncoderTest, InvalidInputsAreInvalidArgument) {
  std::vector<float> one(1), two(2);
  PackedBatch good = testutil::RandomPackedBatch({4}, 1);
  EXPECT_TRUE(encoder_->Forward(good, {}, ws_.get(), one).ok());
  EXPECT_EQ(encoder_->Forward(good, {}, ws_.get(), two).code(),
            absl::StatusCode::kInvalidArgument);
  PackedBatch bad_id = good;
  bad_id.input_ids[2] = 50;
  EXPECT_EQ(encoder_->Forward(bad_id, {}, ws_.get(), one).code(),
            absl::StatusCode::kInvalidArgument);
  bad_id.input_ids[2] = -1;
  EXPECT_EQ(encoder_->Forward(bad_id, {}, ws_.get(), one).code(),
            absl::StatusCode::kInvalidArgument);
  PackedBatch bad_type = good;
  bad_type.token_type_ids[1] = 2;
  EXPECT_EQ(encoder_->Forward(bad_type, {}, ws_.get(), one).code(),
            absl::StatusCode::kInvalidArgument);
  PackedBatch empty_seq = good;
  empty_seq.offsets.push_back(4);
  EXPECT_EQ(encoder_->Forward(empty_seq, {}, ws_.get(), two).code(),
            absl::StatusCode::kInvalidArgument);
  PackedBatch too_long = testutil::RandomPackedBatch({25}, 1);
  absl::Status s = encoder_->Forward(too_long, {}, ws_.get(), one);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("at most 24"), std::string::npos) << s;
  PackedBatch broken = good;
  broken.token_type_ids.pop_back();
  EXPECT_EQ(encoder_->Forward(broken, {}, ws_.get(), one).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder_->Forward(good, LengthConfig{{0.5}}, ws_.get(), one).code(),
            absl::StatusCode::kInvalidArgument);
  auto other = NewFp32Encoder(RandomParams(TinyDims(), 4));
  ASSERT_TRUE(other.ok());
  auto foreign = (*other)->NewWorkspace();
  EXPECT_EQ(encoder_->Forward(good, {}, foreign.get(), one).code(),
            absl::StatusCode::kInvalidArgument);
  PackedBatch none;
  EXPECT_TRUE(encoder_->Forward(none, {}, ws_.get(), {}).ok());
}

TEST_F(BertEncoderTest, ConcurrentWorkersAgree) {
  PackedBatch batch = testutil::RandomPackedBatch({12, 7, 19, 2}, 5);
  std::vector<float> want(4);
  ASSERT_TRUE(encoder_->Forward(batch, {}, ws_.get(), want).ok());
  std::vector<std::vector<float>> got(3, std::vector<float>(4));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto ws = encoder_->NewWorkspace();
      for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(encoder_->Forward(batch, {}, ws.get(), got[t]).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 3; ++t) EXPECT_EQ(got[t], want);
}

}  // namespace
}  // namespace fastrel
