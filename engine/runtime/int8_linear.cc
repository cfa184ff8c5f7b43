#include "engine/runtime/int8_linear.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/kernels/epilogue.h"
#include "engine/kernels/int8_dense.h"
#include "engine/kernels/quantize.h"
#include "engine/kernels/sparse_ffn.h"
#include "engine/kernels/sparse_gemm.h"
#include "engine/runtime/dnnl_engine.h"
#include "engine/runtime/fp32_linear.h"

namespace fastrel {
namespace {

// Quantized input rows of one Forward (grown on demand, reused).
class Int8LinearState : public LinearState {
 public:
  std::vector<int8_t> q;     // s8 codes, or u8 codes reinterpreted
  std::vector<float> scale;  // per row
  std::vector<int32_t> zp;   // per row (asymmetric)
};

class Int8Linear : public LinearOp {
 public:
  Int8Linear(Int8LinearWeights w, ActQuantScheme scheme,
             std::optional<DenseInt8Gemm> dense)
      : w_(std::move(w)), scheme_(scheme), dense_(std::move(dense)) {}

  int in_features() const override { return w_.in; }
  int out_features() const override { return w_.out; }

  std::unique_ptr<LinearState> NewState() const override {
    UseOneOmpThread();
    return std::make_unique<Int8LinearState>();
  }

  absl::StatusOr<bool> ForwardFfnPair(const LinearOp& next, const float* x,
                                      int rows, float* y, const float* residual,
                                      LinearState* state) const override {
    const auto* o = dynamic_cast<const Int8Linear*>(&next);
    if (o == nullptr) return false;
    const Int8Linear& out = *o;
    if (scheme_ != ActQuantScheme::kDynamicSymmetric ||
        out.scheme_ != ActQuantScheme::kDynamicSymmetric || !w_.sparse ||
        !out.w_.sparse || !SparseFfnFusable(*w_.sparse, *out.w_.sparse)) {
      return false;
    }
    if (rows == 0) return true;
    auto* st = static_cast<Int8LinearState*>(state);
    const int k = w_.in;
    if (absl::Status s = QuantizeSymmetric(x, rows, st); !s.ok()) return s;
    Epilogue ep1;
    ep1.act_scale = st->scale.data();
    ep1.weight_scale = w_.scales.data();
    ep1.bias = w_.bias.empty() ? nullptr : w_.bias.data();
    ep1.gelu = true;
    Epilogue ep2;
    ep2.weight_scale = out.w_.scales.data();
    ep2.bias = out.w_.bias.empty() ? nullptr : out.w_.bias.data();
    ep2.residual = residual;
    ep2.ld_residual = residual != nullptr ? out.w_.out : 0;
    ep2.out = y;
    ep2.ld_out = out.w_.out;
    if (absl::Status s = SparseFfn(*w_.sparse, *out.w_.sparse, st->q.data(),
                                   rows, k, ep1, ep2);
        !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat(Describe(), " then ", out.Describe(), ": ",
                                 s.message()));
    }
    return true;
  }

  absl::Status Forward(const float* x, int rows, float* y,
                       const LinearEpilogue& epi,
                       LinearState* state) const override {
    if (rows == 0) return absl::OkStatus();
    auto* st = static_cast<Int8LinearState*>(state);
    const int k = w_.in;
    st->q.resize(static_cast<size_t>(rows) * k);
    Epilogue ep;
    switch (scheme_) {
      case ActQuantScheme::kDynamicSymmetric: {
        if (absl::Status s = QuantizeSymmetric(x, rows, st); !s.ok()) return s;
        ep.act_scale = st->scale.data();
        break;
      }
      case ActQuantScheme::kDynamicAsymmetric: {
        st->scale.resize(rows);
        st->zp.resize(rows);
        if (absl::Status s = QuantizeRowsAsymmetric(
                x, rows, k, k, reinterpret_cast<uint8_t*>(st->q.data()), k,
                st->scale.data(), st->zp.data());
            !s.ok()) {
          return s;
        }
        ep.act_scale = st->scale.data();
        ep.act_zero_point = st->zp.data();
        ep.weight_col_sum =
            dense_ ? dense_->col_sums().data() : w_.sparse->col_sums().data();
        break;
      }
      case ActQuantScheme::kStaticSymmetric: {
        if (absl::Status s = QuantizeStatic(x, rows, k, k, w_.static_act_scale,
                                            st->q.data(), k);
            !s.ok()) {
          return s;
        }
        ep.act_scale = &w_.static_act_scale;
        ep.act_scale_per_tensor = true;
        break;
      }
    }
    return Run(st->q.data(), k, rows, y, epi, ep);
  }

  ActQuant input_quant() const override {
    return scheme_ == ActQuantScheme::kDynamicSymmetric
               ? ActQuant::kPerTokenSymmetricS8
               : ActQuant::kNone;
  }

  absl::Status ForwardQuantized(const QuantizedRows& xq, int rows, float* y,
                                const LinearEpilogue& epi,
                                LinearState*) const override {
    if (input_quant() == ActQuant::kNone) {
      return LinearOp::ForwardQuantized(xq, rows, y, epi, nullptr);
    }
    if (rows == 0) return absl::OkStatus();
    if (rows < 0 || xq.codes == nullptr || xq.scale == nullptr ||
        xq.ld < w_.in) {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(), ": bad quantized input (rows ", rows,
                       ", ld ", xq.ld, ")"));
    }
    Epilogue ep;
    ep.act_scale = xq.scale;
    return Run(xq.codes, xq.ld, rows, y, epi, ep);
  }

  bool CanQuantizeOutput(ActQuant scheme) const override {
    return scheme == ActQuant::kNone ||
           scheme == ActQuant::kPerTokenSymmetricS8;
  }

  std::string Describe() const override {
    std::string fmt =
        dense_
            ? absl::StrCat("dense int8 (", dense_->impl_name(), ")")
            : absl::StrCat("sparse ", SparsePatternName(w_.sparse->pattern()),
                           " int8 density ", w_.sparse->density());
    return absl::StrCat(fmt, " ", w_.in, "x", w_.out, " act ",
                        std::string(ActQuantSchemeName(scheme_)));
  }

 private:
  // x [rows x in] -> per-token symmetric s8 codes and scales in st (the
  // kDynamicSymmetric input of Forward and of the fused pair).
  absl::Status QuantizeSymmetric(const float* x, int rows,
                                 Int8LinearState* st) const {
    const int k = w_.in;
    st->q.resize(static_cast<size_t>(rows) * k);
    st->scale.resize(rows);
    return QuantizeRowsSymmetric(x, rows, k, k, st->q.data(), k,
                                 st->scale.data());
  }

  // The GEMM + fused epilogue on quantized input codes (row stride ld);
  // `ep` carries the input's activation scales (and zero points).
  absl::Status Run(const int8_t* codes, int64_t ld, int rows, float* y,
                   const LinearEpilogue& epi, Epilogue ep) const {
    const int n = w_.out;
    ep.weight_scale = w_.scales.data();
    ep.bias = w_.bias.empty() ? nullptr : w_.bias.data();
    ep.gelu = epi.activation == Activation::kGelu;
    // tanh is not fused (only the pooler uses it): applied afterwards.
    const bool tanh = epi.activation == Activation::kTanh;
    if (!tanh && epi.residual != nullptr) {
      ep.residual = epi.residual;
      ep.ld_residual = n;
    }
    ep.out = y;
    ep.ld_out = n;
    if (epi.quantize_out == ActQuant::kPerTokenSymmetricS8) {
      if (tanh) {
        return absl::InvalidArgumentError(
            absl::StrCat(Describe(), ": quantized output after tanh"));
      }
      ep.requant = Epilogue::Requant::kDynamicSymmetric;
      ep.out_q = epi.out_q.codes;
      ep.ld_out_q = epi.out_q.ld;
      ep.out_q_scale = epi.out_q.scale;
    } else if (epi.quantize_out != ActQuant::kNone) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(), ": cannot emit ", ActQuantName(epi.quantize_out)));
    }
    absl::Status s;
    if (dense_) {
      s = dense_->Run(codes, rows, ld, ep);
    } else if (scheme_ == ActQuantScheme::kDynamicAsymmetric) {
      s = SparseGemm(*w_.sparse, reinterpret_cast<const uint8_t*>(codes), rows,
                     ld, ep);
    } else {
      s = SparseGemm(*w_.sparse, codes, rows, ld, ep);
    }
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat(Describe(), ": ", s.message()));
    }
    if (tanh) ApplyEpilogue(nullptr, epi, y, rows, n);
    return absl::OkStatus();
  }

  const Int8LinearWeights w_;
  const ActQuantScheme scheme_;
  const std::optional<DenseInt8Gemm> dense_;
};

}  // namespace

std::string_view ActQuantSchemeName(ActQuantScheme scheme) {
  switch (scheme) {
    case ActQuantScheme::kDynamicSymmetric:
      return "dynamic_per_token";
    case ActQuantScheme::kDynamicAsymmetric:
      return "dynamic_per_token_asym";
    case ActQuantScheme::kStaticSymmetric:
      return "static_per_tensor";
  }
  return "unknown";
}

absl::StatusOr<ActQuantScheme> ParseActQuantScheme(std::string_view name) {
  for (ActQuantScheme s :
       {ActQuantScheme::kDynamicSymmetric, ActQuantScheme::kDynamicAsymmetric,
        ActQuantScheme::kStaticSymmetric}) {
    if (name == ActQuantSchemeName(s)) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown activation quantization \"", std::string(name),
                   "\" (expected dynamic_per_token, dynamic_per_token_asym or "
                   "static_per_tensor)"));
}

absl::StatusOr<std::unique_ptr<LinearOp>> NewInt8Linear(Int8LinearWeights w,
                                                        ActQuantScheme scheme) {
  const std::string shape = absl::StrCat(w.in, "x", w.out);
  if (w.in <= 0 || w.out <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("int8 linear: bad shape ", shape));
  }
  if (w.scales.size() != static_cast<size_t>(w.out) ||
      (!w.bias.empty() && w.bias.size() != static_cast<size_t>(w.out))) {
    return absl::InvalidArgumentError(
        absl::StrCat("int8 linear ", shape, ": ", w.scales.size(), " scales, ",
                     w.bias.size(), " biases (want ", w.out, ")"));
  }
  for (float s : w.scales) {
    if (!(s > 0) || !std::isfinite(s)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "int8 linear ", shape, ": weight scale ", s, " is not > 0"));
    }
  }
  if (scheme == ActQuantScheme::kStaticSymmetric &&
      (!(w.static_act_scale > 0) || !std::isfinite(w.static_act_scale))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "int8 linear ", shape, ": static activation scale missing or not > 0 (",
        w.static_act_scale, ")"));
  }
  std::optional<DenseInt8Gemm> dense;
  if (w.sparse.has_value()) {
    if (!w.dense_q.empty() || w.sparse->n() != w.out || w.sparse->k() != w.in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "int8 linear ", shape, ": packed sparse weights are ", w.sparse->k(),
          "x", w.sparse->n(), " (or dense weights also set)"));
    }
  } else {
    if (w.dense_q.size() != static_cast<size_t>(w.in) * w.out) {
      return absl::InvalidArgumentError(absl::StrCat("int8 linear ", shape,
                                                     ": ", w.dense_q.size(),
                                                     " dense int8 weights"));
    }
    UseOneOmpThread();  // oneDNN fixes the thread count at creation
    absl::StatusOr<DenseInt8Gemm> g = DenseInt8Gemm::Create(
        w.dense_q.data(), w.out, w.in,
        scheme == ActQuantScheme::kDynamicAsymmetric ? ActType::kU8
                                                     : ActType::kS8);
    if (!g.ok()) return g.status();
    dense.emplace(std::move(*g));
    w.dense_q.clear();  // DenseInt8Gemm keeps its own copy
    w.dense_q.shrink_to_fit();
  }
  return std::make_unique<Int8Linear>(std::move(w), scheme, std::move(dense));
}

LinearFactory Int8LinearFactory(
    std::shared_ptr<std::map<LinearKey, Int8LinearWeights>> layers,
    ActQuantScheme scheme) {
  return [layers, scheme](const LinearId& id, const DenseParams& params)
             -> absl::StatusOr<std::unique_ptr<LinearOp>> {
    auto it = layers->find(KeyOf(id));
    if (it == layers->end()) return NewFp32Linear(params);
    Int8LinearWeights w = std::move(it->second);
    layers->erase(it);
    const std::string name =
        absl::StrCat("layer ", id.layer, " ", LinearKindName(id.kind));
    if (w.in != params.in || w.out != params.out) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": int8 weights are ", w.in, "x", w.out,
                       ", the model wants ", params.in, "x", params.out));
    }
    if (w.bias.empty()) w.bias = params.bias;
    absl::StatusOr<std::unique_ptr<LinearOp>> op =
        NewInt8Linear(std::move(w), scheme);
    if (!op.ok()) {
      return absl::Status(op.status().code(),
                          absl::StrCat(name, ": ", op.status().message()));
    }
    return op;
  };
}

}  // namespace fastrel
