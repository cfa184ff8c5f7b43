#include "engine/runtime/bert_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/kernels/fp32_kernels.h"
#include "engine/runtime/attention_block.h"
#include "engine/runtime/dnnl_engine.h"
#include "engine/runtime/fp32_linear.h"
#include "engine/runtime/grow_scratch.h"

namespace fastrel {
namespace {

constexpr int kOpsPerLayer = 6;
// Rows per feed-forward block: 128 x intermediate 1024 fp32 = 512 KiB, about
// half of a Zen 4 L2 (and the int8 copy of it another 128 KiB). Used only when
// the layer's feed-forward ops are not oneDNN fp32: with the AVX2 ISA, oneDNN
// 2.6's fp32 matmul lost ~20% on 128-row calls (measured: fp32 demo model 236
// -> 182 pairs/s CPU time); natively it was neutral.
constexpr int kFfnRowBlock = 128;

bool IsOneDnnFp32(const LinearOp& op) {
  return op.Describe().rfind("fp32", 0) == 0;
}

// Tokens ahead whose word-embedding row is prefetched (Forward).
constexpr size_t kEmbeddingPrefetch = 4;

// x[c] = (w[c] + p[c]) + t[c] for c < n; x does not overlap the inputs. In
// fixed chunks of 8 with restrict pointers so GCC's -O2 (very cheap cost
// model: no runtime alias checks) vectorizes it; the scalar loop was ~1.4%
// of an int8 forward pass. Same additions in the same order: bit-identical.
void AddEmbeddings(const float* __restrict w, const float* __restrict p,
                   const float* __restrict t, int n, float* __restrict x) {
  int c = 0;
  for (; c + 8 <= n; c += 8) {
    for (int i = 0; i < 8; ++i) x[c + i] = w[c + i] + p[c + i] + t[c + i];
  }
  for (; c < n; ++c) x[c] = w[c] + p[c] + t[c];
}

// The same with the word row as int8 codes q and a scale: x[c] =
// (scale * q[c] + p[c]) + t[c], the product rounded to float first (this
// file is compiled without FMA, so it is never contracted): bit-identical to
// dequantizing the row at load and calling AddEmbeddings.
void AddEmbeddingsI8(const int8_t* __restrict q, float scale,
                     const float* __restrict p, const float* __restrict t,
                     int n, float* __restrict x) {
  int c = 0;
  for (; c + 16 <= n; c += 16) {
    for (int i = 0; i < 16; ++i) {
      x[c + i] = scale * static_cast<float>(q[c + i]) + p[c + i] + t[c + i];
    }
  }
  for (; c < n; ++c) x[c] = scale * static_cast<float>(q[c]) + p[c] + t[c];
}

// The scheme Q, K and V all quantize their input X with, or kNone when they
// differ or do not quantize (then each op takes fp32 X).
ActQuant SharedQkvQuant(const LinearOp& q, const LinearOp& k,
                        const LinearOp& v) {
  const ActQuant s = q.input_quant();
  return k.input_quant() == s && v.input_quant() == s ? s : ActQuant::kNone;
}

class BertWorkspace : public Workspace {
 public:
  const BertEncoder* owner = nullptr;
  // LinearStates: layer l op k at l * kOpsPerLayer + k; then pooler,
  // classifier.
  std::vector<std::unique_ptr<LinearState>> states;
  // Scratch arena.
  std::vector<float> x, q, k, v, ctx, tmp, ffn, cls;
  std::vector<double> sig;
  std::vector<int> pos, offsets, new_offsets, src, keep;
  AttentionScratch attention;
  // Per layer: rows per feed-forward block (see kFfnRowBlock), and whether
  // the attention-output projection runs in those blocks too (not when it is
  // oneDNN fp32: it lost on 128-row calls, see kFfnRowBlock).
  std::vector<int> ffn_block;
  std::vector<char> att_in_blocks;
  // Quantized activations shared between ops: X for Q/K/V (then the [CLS]
  // rows), the GELU output of one feed-forward block.
  std::vector<int8_t> x_codes, ffn_codes;
  std::vector<float> x_scale, ffn_scale;
  // Int8 attention: Q, K, V codes written by the projections.
  std::vector<int8_t> qkv_codes;
  std::vector<float> qkv_scale;
};

absl::Status CheckSize(const std::vector<float>& v, size_t want,
                       const std::string& name) {
  if (v.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", name, " has ", v.size(), " elements; expected ", want));
  }
  return absl::OkStatus();
}

absl::Status CheckDense(const DenseParams& d, int in, int out,
                        const std::string& name) {
  if (d.in != in || d.out != out) {
    return absl::InvalidArgumentError(
        absl::StrCat("linear ", name, " is ", d.out, "x", d.in, "; expected ",
                     out, "x", in));
  }
  if (auto s =
          CheckSize(d.weight, static_cast<size_t>(in) * out, name + ".weight");
      !s.ok()) {
    return s;
  }
  return CheckSize(d.bias, out, name + ".bias");
}

absl::Status CheckNorm(const LayerNormParams& n, int hidden,
                       const std::string& name) {
  if (auto s = CheckSize(n.gamma, hidden, name + ".weight"); !s.ok()) return s;
  return CheckSize(n.beta, hidden, name + ".bias");
}

void Release(DenseParams* d) {
  d->weight = {};
  d->bias = {};
}

}  // namespace

absl::Status BertParams::Validate() const {
  const EncoderDims& d = dims;
  if (d.vocab_size <= 0 || d.hidden_size <= 0 || d.num_layers <= 0 ||
      d.num_heads <= 0 || d.intermediate_size <= 0 || d.max_positions <= 0 ||
      d.type_vocab_size <= 0 || d.hidden_size % d.num_heads != 0) {
    return absl::InvalidArgumentError("invalid encoder dimensions");
  }
  const size_t H = d.hidden_size;
  absl::Status s;
  if (word_embeddings_i8.empty()) {
    s = CheckSize(word_embeddings, H * d.vocab_size,
                  "bert.embeddings.word_embeddings.weight");
  } else if (!word_embeddings.empty() ||
             word_embeddings_i8.size() != H * d.vocab_size ||
             word_embedding_scale.size() != static_cast<size_t>(d.vocab_size)) {
    s = absl::InvalidArgumentError(absl::StrCat(
        "bert.embeddings.word_embeddings.weight: int8 rows need ",
        H * d.vocab_size, " codes and ", d.vocab_size,
        " scales and no fp32 table (have ", word_embeddings_i8.size(), ", ",
        word_embedding_scale.size(), " and ", word_embeddings.size(), ")"));
  }
  if (s.ok()) {
    s = CheckSize(position_embeddings, H * d.max_positions,
                  "bert.embeddings.position_embeddings.weight");
  }
  if (s.ok()) {
    s = CheckSize(token_type_embeddings, H * d.type_vocab_size,
                  "bert.embeddings.token_type_embeddings.weight");
  }
  if (s.ok())
    s = CheckNorm(embedding_norm, d.hidden_size, "bert.embeddings.LayerNorm");
  if (s.ok() && static_cast<int>(layers.size()) != d.num_layers) {
    s = absl::InvalidArgumentError(absl::StrCat(
        "have ", layers.size(), " layers; expected ", d.num_layers));
  }
  const int h = d.hidden_size, i = d.intermediate_size;
  for (int l = 0; s.ok() && l < d.num_layers; ++l) {
    const BertLayerParams& p = layers[l];
    const std::string n = absl::StrCat("bert.encoder.layer.", l, ".");
    s = CheckDense(p.query, h, h, n + "attention.self.query");
    if (s.ok()) s = CheckDense(p.key, h, h, n + "attention.self.key");
    if (s.ok()) s = CheckDense(p.value, h, h, n + "attention.self.value");
    if (s.ok())
      s = CheckDense(p.attention_output, h, h, n + "attention.output.dense");
    if (s.ok())
      s = CheckNorm(p.attention_norm, h, n + "attention.output.LayerNorm");
    if (s.ok()) s = CheckDense(p.intermediate, h, i, n + "intermediate.dense");
    if (s.ok()) s = CheckDense(p.output, i, h, n + "output.dense");
    if (s.ok()) s = CheckNorm(p.output_norm, h, n + "output.LayerNorm");
  }
  if (s.ok()) s = CheckDense(pooler, h, h, "bert.pooler.dense");
  if (s.ok()) s = CheckDense(classifier, h, 1, "classifier");
  return s;
}

absl::StatusOr<std::unique_ptr<BertEncoder>> BertEncoder::Create(
    BertParams params, const LinearFactory& factory, std::string description,
    const BertEncoderOptions& options) {
  if (absl::Status s = params.Validate(); !s.ok()) return s;
  std::unique_ptr<BertEncoder> enc(new BertEncoder());
  enc->description_ = std::move(description);
  enc->options_ = options;
  if (options.attention != AttentionPrecision::kFp32) {
    absl::StrAppend(&enc->description_, ", attention ",
                    AttentionPrecisionName(options.attention));
  }
  auto make = [&](int layer, LinearKind kind, DenseParams* d,
                  std::unique_ptr<LinearOp>* out) -> absl::Status {
    absl::StatusOr<std::unique_ptr<LinearOp>> op =
        factory(LinearId{layer, kind}, *d);
    if (!op.ok()) return op.status();
    if (*op == nullptr || (*op)->in_features() != d->in ||
        (*op)->out_features() != d->out) {
      return absl::InternalError(
          absl::StrCat("linear factory returned a bad op for layer ", layer,
                       " ", LinearKindName(kind)));
    }
    *out = std::move(*op);
    Release(d);
    return absl::OkStatus();
  };
  const int L = params.dims.num_layers;
  enc->layers_.resize(L);
  for (int l = 0; l < L; ++l) {
    BertLayerParams& p = params.layers[l];
    LayerOps& o = enc->layers_[l];
    for (auto [kind, d, op] :
         {std::tuple{LinearKind::kQuery, &p.query, &o.query},
          std::tuple{LinearKind::kKey, &p.key, &o.key},
          std::tuple{LinearKind::kValue, &p.value, &o.value},
          std::tuple{LinearKind::kAttentionOutput, &p.attention_output,
                     &o.attention_output},
          std::tuple{LinearKind::kIntermediate, &p.intermediate,
                     &o.intermediate},
          std::tuple{LinearKind::kOutput, &p.output, &o.output}}) {
      if (absl::Status s = make(l, kind, d, op); !s.ok()) return s;
    }
  }
  if (absl::Status s =
          make(L, LinearKind::kPooler, &params.pooler, &enc->pooler_);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = make(L, LinearKind::kClassifier, &params.classifier,
                            &enc->classifier_);
      !s.ok()) {
    return s;
  }
  enc->params_ = std::move(params);
  return enc;
}

const LinearOp& BertEncoder::linear(const LinearId& id) const {
  if (id.kind == LinearKind::kPooler) return *pooler_;
  if (id.kind == LinearKind::kClassifier) return *classifier_;
  const LayerOps& o = layers_.at(id.layer);
  switch (id.kind) {
    case LinearKind::kQuery:
      return *o.query;
    case LinearKind::kKey:
      return *o.key;
    case LinearKind::kValue:
      return *o.value;
    case LinearKind::kAttentionOutput:
      return *o.attention_output;
    case LinearKind::kIntermediate:
      return *o.intermediate;
    default:
      return *o.output;
  }
}

std::unique_ptr<Workspace> BertEncoder::NewWorkspace() const {
  auto ws = std::make_unique<BertWorkspace>();
  ws->owner = this;
  for (const LayerOps& o : layers_) {
    const bool fp32 = IsOneDnnFp32(*o.intermediate) || IsOneDnnFp32(*o.output);
    ws->ffn_block.push_back(fp32 ? std::numeric_limits<int>::max()
                                 : kFfnRowBlock);
    ws->att_in_blocks.push_back(!IsOneDnnFp32(*o.attention_output));
    for (const LinearOp* op :
         {o.query.get(), o.key.get(), o.value.get(), o.attention_output.get(),
          o.intermediate.get(), o.output.get()}) {
      ws->states.push_back(op->NewState());
    }
  }
  ws->states.push_back(pooler_->NewState());
  ws->states.push_back(classifier_->NewState());
  return ws;
}

std::string BertEncoder::Describe() const { return description_; }

absl::Status BertEncoder::ValidateInput(const PackedBatch& batch,
                                        const LengthConfig& length,
                                        std::span<float> logits) const {
  const EncoderDims& d = params_.dims;
  if (absl::Status s = length.Validate(d.num_layers); !s.ok()) return s;
  if (batch.offsets.empty() || batch.offsets[0] != 0 ||
      batch.offsets.back() != batch.total_tokens() ||
      batch.token_type_ids.size() != batch.input_ids.size()) {
    return absl::InvalidArgumentError(
        "packed batch is inconsistent (offsets / ids / token types)");
  }
  const int S = batch.num_sequences();
  if (logits.size() != static_cast<size_t>(S)) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits span has ", logits.size(), " entries; batch has ",
                     S, " sequences"));
  }
  for (int s = 0; s < S; ++s) {
    const int n = batch.offsets[s + 1] - batch.offsets[s];
    if (n <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", s, " is empty (or offsets decrease)"));
    }
    if (n > d.max_positions) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", s, " has ", n,
                       " tokens; the model allows at most ", d.max_positions));
    }
  }
  for (int t = 0; t < batch.total_tokens(); ++t) {
    if (batch.input_ids[t] < 0 || batch.input_ids[t] >= d.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("token ", t, " has id ", batch.input_ids[t],
                       " outside [0, ", d.vocab_size, ")"));
    }
    if (batch.token_type_ids[t] < 0 ||
        batch.token_type_ids[t] >= d.type_vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("token ", t, " has token type ", batch.token_type_ids[t],
                       " outside [0, ", d.type_vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status BertEncoder::Forward(const PackedBatch& batch,
                                  const LengthConfig& length,
                                  Workspace* ws_base, std::span<float> logits,
                                  ForwardTrace* trace) const {
  if (absl::Status s = ValidateInput(batch, length, logits); !s.ok()) return s;
  auto* ws = dynamic_cast<BertWorkspace*>(ws_base);
  if (ws == nullptr || ws->owner != this) {
    return absl::InvalidArgumentError(
        "workspace was not created by this encoder's NewWorkspace()");
  }
  UseOneOmpThread();
  const int S = batch.num_sequences();
  const EncoderDims& d = params_.dims;
  const int H = d.hidden_size, I = d.intermediate_size, A = d.num_heads,
            L = d.num_layers, dh = H / A;
  const float eps = d.layer_norm_eps;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const bool drop = !length.is_full();
  if (trace != nullptr) {
    trace->kept.assign(drop ? S : 0, std::vector<std::vector<int>>(L));
    trace->significance.assign(drop ? S : 0,
                               std::vector<std::vector<float>>(L));
  }
  if (S == 0) return absl::OkStatus();
  const LinearObserver* observer = (trace != nullptr && trace->linear_observer)
                                       ? &trace->linear_observer
                                       : nullptr;
  // Without a trace, the last layer computes only what the [CLS] rows need.
  const bool cls_only_last = trace == nullptr;

  const size_t T = batch.total_tokens();
  float* X = GrowScratch(&ws->x, T * H);
  float* Q = GrowScratch(&ws->q, T * H);
  float* K = GrowScratch(&ws->k, T * H);
  float* V = GrowScratch(&ws->v, T * H);
  float* CTX = GrowScratch(&ws->ctx, T * H);
  float* TMP = GrowScratch(&ws->tmp, T * H);
  float* XC = GrowScratch(&ws->cls, static_cast<size_t>(S) * H);
  double* sig = GrowScratch(&ws->sig, T);
  int* src = GrowScratch(&ws->src, T);
  int* keep = GrowScratch(&ws->keep, S);
  int* pos = GrowScratch(&ws->pos, T);
  int* off = GrowScratch(&ws->offsets, S + 1);
  int* new_off = GrowScratch(&ws->new_offsets, S + 1);

  // Embeddings: word + position (restarting per sequence) + token type.
  const bool we_i8 = !params_.word_embeddings_i8.empty();
  const char* we =
      we_i8 ? reinterpret_cast<const char*>(params_.word_embeddings_i8.data())
            : reinterpret_cast<const char*>(params_.word_embeddings.data());
  const size_t row_bytes =
      static_cast<size_t>(H) * (we_i8 ? sizeof(int8_t) : sizeof(float));
  const float* pe = params_.position_embeddings.data();
  const float* te = params_.token_type_embeddings.data();
  for (int s = 0; s <= S; ++s) off[s] = batch.offsets[s];
  // Word-embedding rows are scattered over a table larger than L2: each
  // token's row is prefetched kEmbeddingPrefetch tokens ahead so its misses
  // overlap the sums of the tokens before it.
  for (int s = 0; s < S; ++s) {
    for (int t = off[s]; t < off[s + 1]; ++t) {
      if (static_cast<size_t>(t) + kEmbeddingPrefetch < T) {
        const char* next =
            we + static_cast<size_t>(batch.input_ids[t + kEmbeddingPrefetch]) *
                     row_bytes;
        for (size_t b = 0; b < row_bytes; b += 64) {
          __builtin_prefetch(next + b);
        }
      }
      const int p = t - off[s];
      pos[t] = p;
      const size_t id = batch.input_ids[t];
      const char* w = we + id * row_bytes;
      const float* pp = pe + static_cast<size_t>(p) * H;
      const float* tt = te + static_cast<size_t>(batch.token_type_ids[t]) * H;
      float* x = X + static_cast<size_t>(t) * H;
      if (we_i8) {
        AddEmbeddingsI8(reinterpret_cast<const int8_t*>(w),
                        params_.word_embedding_scale[id], pp, tt, H, x);
      } else {
        AddEmbeddings(reinterpret_cast<const float*>(w), pp, tt, H, x);
      }
    }
  }
  // X's codes for the next layer's Q/K/V, when they share one quantization:
  // made per row block right after the LayerNorm that wrote the block (still
  // in L2), instead of in a separate pass over all of X (bit-identical: the
  // quantization is per row).
  auto next_qkv = [&](int l) {
    if (observer != nullptr || l >= L) return ActQuant::kNone;
    const LayerOps& o = layers_[l];
    return SharedQkvQuant(*o.query, *o.key, *o.value);
  };
  int8_t* xc = nullptr;
  float* xs = nullptr;
  bool any_coded = false;
  for (int l = 0; l < L; ++l) any_coded |= next_qkv(l) != ActQuant::kNone;
  if (any_coded) {
    xc = GrowScratch(&ws->x_codes, (T + S) * H);
    xs = GrowScratch(&ws->x_scale, T + S);
  }
  bool x_coded = false;  // xc/xs hold X's codes for this layer's Q/K/V
  {
    const ActQuant q0 = next_qkv(0);
    const int block =
        q0 != ActQuant::kNone ? kFfnRowBlock : static_cast<int>(T);
    for (size_t r0 = 0; r0 < T; r0 += block) {
      const int br = static_cast<int>(std::min<size_t>(block, T - r0));
      float* xr = X + r0 * H;
      LayerNorm(xr, br, H, H, params_.embedding_norm.gamma.data(),
                params_.embedding_norm.beta.data(), eps, xr);
      if (q0 != ActQuant::kNone) {
        if (absl::Status s = QuantizeActivations(q0, xr, br, H, H,
                                                 {xc + r0 * H, H, xs + r0});
            !s.ok()) {
          return s;
        }
      }
    }
    x_coded = q0 != ActQuant::kNone;
  }

  auto run = [&](const LinearOp& op, LinearId id, int state, const float* in,
                 int rows, float* out, const LinearEpilogue& epi) {
    if (observer != nullptr) {
      (*observer)(LinearInput{id, in, rows, op.in_features()});
    }
    return op.Forward(in, rows, out, epi, ws->states[state].get());
  };
#define FASTREL_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

  int rows = static_cast<int>(T);
  for (int l = 0; l < L; ++l) {
    const LayerOps& o = layers_[l];
    const BertLayerParams& lp = params_.layers[l];
    const int st = l * kOpsPerLayer;
    const bool cls_only = cls_only_last && l == L - 1;
    // Query rows: all tokens, or only each sequence's [CLS] in the last layer.
    float* xq = X;
    int q_rows = rows;
    if (cls_only) {
      for (int s = 0; s < S; ++s) {
        std::memcpy(XC + static_cast<size_t>(s) * H,
                    X + static_cast<size_t>(off[s]) * H, H * sizeof(float));
      }
      xq = XC;
      q_rows = S;
    }
    // With int8 attention, the projections' fused epilogues can write Q, K
    // and V as per-token s8 codes directly (no fp32 Q/K/V).
    const bool qkv_codes =
        options_.attention == AttentionPrecision::kInt8 &&
        observer == nullptr &&
        o.query->CanQuantizeOutput(ActQuant::kPerTokenSymmetricS8) &&
        o.key->CanQuantizeOutput(ActQuant::kPerTokenSymmetricS8) &&
        o.value->CanQuantizeOutput(ActQuant::kPerTokenSymmetricS8);
    LinearEpilogue qe, ke, ve;
    float *q_out = Q, *k_out = K, *v_out = V;
    if (qkv_codes) {
      int8_t* c = GrowScratch(&ws->qkv_codes, 3 * T * H);
      float* sc = GrowScratch(&ws->qkv_scale, 3 * T);
      int i = 0;
      for (LinearEpilogue* e : {&qe, &ke, &ve}) {
        e->quantize_out = ActQuant::kPerTokenSymmetricS8;
        e->out_q = {c + i * T * H, H, sc + i * T};
        ++i;
      }
      q_out = k_out = v_out = nullptr;
    }
    // Q, K and V quantize the same X: when they agree on the scheme (and no
    // observer needs fp32 inputs), quantize it once (per row, so the [CLS]
    // rows' codes are a gather; bit-identical to three quantizations).
    const ActQuant qkv = next_qkv(l);
    if (qkv != ActQuant::kNone) {
      if (!x_coded) {
        FASTREL_RETURN_IF_ERROR(
            QuantizeActivations(qkv, X, rows, H, H, {xc, H, xs}));
      }
      const QuantizedRows xr{xc, H, xs};
      QuantizedRows qr = xr;
      if (cls_only) {
        for (int s = 0; s < S; ++s) {
          std::memcpy(xc + (T + s) * H, xc + static_cast<size_t>(off[s]) * H,
                      H);
          xs[T + s] = xs[off[s]];
        }
        qr = {xc + T * H, H, xs + T};
      }
      FASTREL_RETURN_IF_ERROR(o.query->ForwardQuantized(qr, q_rows, q_out, qe,
                                                        ws->states[st].get()));
      FASTREL_RETURN_IF_ERROR(o.key->ForwardQuantized(
          xr, rows, k_out, ke, ws->states[st + 1].get()));
      FASTREL_RETURN_IF_ERROR(o.value->ForwardQuantized(
          xr, rows, v_out, ve, ws->states[st + 2].get()));
    } else {
      FASTREL_RETURN_IF_ERROR(
          run(*o.query, {l, LinearKind::kQuery}, st, xq, q_rows, q_out, qe));
      FASTREL_RETURN_IF_ERROR(
          run(*o.key, {l, LinearKind::kKey}, st + 1, X, rows, k_out, ke));
      FASTREL_RETURN_IF_ERROR(
          run(*o.value, {l, LinearKind::kValue}, st + 2, X, rows, v_out, ve));
    }

    // Attention; in a dropping layer the context, the attention-output
    // projection and its LayerNorm run on the kept rows only.
    const bool select = drop && !cls_only;
    if (select) {
      for (int s = 0; s < S; ++s) {
        keep[s] = std::min(off[s + 1] - off[s],
                           length.KeptTokens(l, batch.length(s)));
      }
    }
    PackedAttentionInput att;
    att.num_sequences = S;
    att.hidden = H;
    att.num_heads = A;
    att.scale = scale;
    att.offsets = off;
    att.q = Q;
    att.k = K;
    att.v = V;
    att.cls_only = cls_only;
    att.keep = select ? keep : nullptr;
    att.significance_for_all = trace != nullptr;
    att.precision = options_.attention;
    if (qkv_codes) {
      att.q_codes = qe.out_q.codes;
      att.k_codes = ke.out_q.codes;
      att.v_codes = ve.out_q.codes;
      att.q_scale = qe.out_q.scale;
      att.k_scale = ke.out_q.scale;
      att.v_scale = ve.out_q.scale;
    }
    RunPackedAttention(att, {CTX, new_off, src, sig}, &ws->attention);
    if (select) {
      // Gather the kept rows of X (source rows never precede their
      // destinations, so going forward is safe) and their positions.
      const int kept_rows = new_off[S];
      for (int r = 0; r < kept_rows; ++r) {
        if (src[r] != r) {
          std::memcpy(X + static_cast<size_t>(r) * H,
                      X + static_cast<size_t>(src[r]) * H, H * sizeof(float));
          pos[r] = pos[src[r]];
        }
      }
      if (trace != nullptr) {
        for (int s = 0; s < S; ++s) {
          trace->significance[s][l].assign(sig + off[s], sig + off[s + 1]);
          trace->kept[s][l].assign(pos + new_off[s], pos + new_off[s + 1]);
        }
      }
      std::swap(off, new_off);
      rows = kept_rows;
      q_rows = rows;
    }
    // The attention-output projection, its LayerNorm and the feed-forward
    // block run in row blocks so a block's [block x H] rows and its
    // [block x I] intermediate activations stay in L2 from one op to the
    // next (every op is per row, and the int8 activation quantization is
    // per token or per tensor with a fixed scale, so blocking does not change
    // the result). An observer sees each linear's whole input at once, as
    // before. The last LayerNorm of a block also makes the block's codes for
    // the next layer's Q/K/V (see next_qkv).
    // When the output op takes quantized input that the intermediate op can
    // emit, its fused epilogue writes the GELU output's codes directly (no
    // fp32 intermediate, no second quantization pass; bit-identical).
    LinearEpilogue gelu;
    gelu.activation = Activation::kGelu;
    const int block =
        observer != nullptr ? std::max(q_rows, 1) : ws->ffn_block[l];
    const ActQuant fq =
        observer != nullptr ? ActQuant::kNone : o.output->input_quant();
    const bool ffn_q =
        fq != ActQuant::kNone && o.intermediate->CanQuantizeOutput(fq);
    const size_t br_max = std::min(block, q_rows);
    // The fp32 intermediate [block x I] is needed only without ffn_q.
    float* F = ffn_q ? nullptr : GrowScratch(&ws->ffn, br_max * I);
    if (ffn_q) {
      gelu.quantize_out = fq;
      gelu.out_q = {GrowScratch(&ws->ffn_codes, br_max * I), I,
                    GrowScratch(&ws->ffn_scale, br_max)};
    }
    // Codes for the next layer: its X rows are this layer's xq rows (xq == X
    // except in the [CLS]-only last layer, which has no next layer).
    const ActQuant nq = cls_only ? ActQuant::kNone : next_qkv(l + 1);
    const bool att_blocks = ws->att_in_blocks[l] || block >= q_rows;
    if (!att_blocks) {
      LinearEpilogue res;
      res.residual = xq;
      FASTREL_RETURN_IF_ERROR(run(*o.attention_output,
                                  {l, LinearKind::kAttentionOutput}, st + 3,
                                  CTX, q_rows, TMP, res));
      LayerNorm(TMP, q_rows, H, H, lp.attention_norm.gamma.data(),
                lp.attention_norm.beta.data(), eps, xq);
    }
    for (int r0 = 0; r0 < q_rows; r0 += block) {
      const int br = std::min(block, q_rows - r0);
      float* xr = xq + static_cast<size_t>(r0) * H;
      // A block's pre-LayerNorm rows live only within this iteration: the
      // same first rows of TMP for every block stay in cache (no write
      // misses on a fresh part of TMP per block).
      float* tr = TMP;
      LinearEpilogue res_r;
      res_r.residual = xr;
      if (att_blocks) {
        FASTREL_RETURN_IF_ERROR(
            run(*o.attention_output, {l, LinearKind::kAttentionOutput}, st + 3,
                CTX + static_cast<size_t>(r0) * H, br, tr, res_r));
        LayerNorm(tr, br, H, H, lp.attention_norm.gamma.data(),
                  lp.attention_norm.beta.data(), eps, xr);
      }
      // A fused pair keeps the GELU activations in its tiles' scratch.
      absl::StatusOr<bool> fused = false;
      if (ffn_q) {
        fused = o.intermediate->ForwardFfnPair(*o.output, xr, br, tr, xr,
                                               ws->states[st + 4].get());
        FASTREL_RETURN_IF_ERROR(fused.status());
      }
      if (!*fused) {
        FASTREL_RETURN_IF_ERROR(run(*o.intermediate,
                                    {l, LinearKind::kIntermediate}, st + 4, xr,
                                    br, F, gelu));
        FASTREL_RETURN_IF_ERROR(
            ffn_q ? o.output->ForwardQuantized(
                        {gelu.out_q.codes, I, gelu.out_q.scale}, br, tr, res_r,
                        ws->states[st + 5].get())
                  : run(*o.output, {l, LinearKind::kOutput}, st + 5, F, br, tr,
                        res_r));
      }
      LayerNorm(tr, br, H, H, lp.output_norm.gamma.data(),
                lp.output_norm.beta.data(), eps, xr);
      if (nq != ActQuant::kNone) {
        FASTREL_RETURN_IF_ERROR(QuantizeActivations(
            nq, xr, br, H, H, {xc + static_cast<size_t>(r0) * H, H, xs + r0}));
      }
    }
    x_coded = nq != ActQuant::kNone;
  }

  if (!cls_only_last) {
    for (int s = 0; s < S; ++s) {
      std::memcpy(XC + static_cast<size_t>(s) * H,
                  X + static_cast<size_t>(off[s]) * H, H * sizeof(float));
    }
  }
  LinearEpilogue tanh_epi;
  tanh_epi.activation = Activation::kTanh;
  const int head = L * kOpsPerLayer;
  FASTREL_RETURN_IF_ERROR(
      run(*pooler_, {L, LinearKind::kPooler}, head, XC, S, TMP, tanh_epi));
  FASTREL_RETURN_IF_ERROR(run(*classifier_, {L, LinearKind::kClassifier},
                              head + 1, TMP, S, logits.data(), {}));
#undef FASTREL_RETURN_IF_ERROR
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BertEncoder>> NewFp32Encoder(BertParams params) {
  return BertEncoder::Create(std::move(params), Fp32LinearFactory(), "fp32");
}

}  // namespace fastrel
