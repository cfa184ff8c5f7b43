#include "engine/kernels/sparse_format.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fastrel {
namespace {

constexpr char kMagic[4] = {'F', 'R', 'S', '8'};
constexpr uint32_t kVersion = 1;
constexpr int kMaxK = 65535;
constexpr int kHeaderBytes = 4 + 5 * 4;

uint64_t Fnv1a(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

template <typename T>
void Append(std::string* out, const T* p, size_t count) {
  out->append(reinterpret_cast<const char*>(p), count * sizeof(T));
}

void AppendU32(std::string* out, uint32_t v) { Append(out, &v, 1); }

// Bounded little-endian reader over the blob.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  template <typename T>
  bool Read(T* p, size_t count) {
    const size_t bytes = count * sizeof(T);
    if (count > b_.size() || bytes > b_.size() - pos_) return false;
    std::memcpy(p, b_.data() + pos_, bytes);
    pos_ += bytes;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

}  // namespace

const char* SparsePatternName(SparsePattern p) {
  switch (p) {
    case SparsePattern::kBlock4x1:
      return "4x1";
    case SparsePattern::k2of4:
      return "2:4";
    case SparsePattern::k1of4:
      return "1:4";
  }
  return "?";
}

absl::StatusOr<PackedSparseInt8> PackedSparseInt8::Pack(SparsePattern pattern,
                                                        const int8_t* wq, int n,
                                                        int k) {
  if (n < 1 || k < 1 || k > kMaxK) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse pack: need 1 <= N and 1 <= K <= ", kMaxK,
                     ", got N=", n, " K=", k));
  }
  if (wq == nullptr) return absl::InvalidArgumentError("sparse pack: null Wq");
  for (int64_t i = 0; i < int64_t{n} * k; ++i) {
    if (wq[i] == -128) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse pack: Wq[", i / k, "][", i % k,
          "] = -128; weights must be symmetric int8 in [-127, 127]"));
    }
  }
  PackedSparseInt8 p;
  p.pattern_ = pattern;
  p.n_ = n;
  p.k_ = k;
  if (pattern == SparsePattern::kBlock4x1) {
    if (n % 4 != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse pack 4x1: N=", n,
          " is not a multiple of 4 (pad the layer's output channels)"));
    }
    const int nrb = n / 4;
    p.row_ptr_.push_back(0);
    std::vector<int> kept;
    for (int rb = 0; rb < nrb; ++rb) {
      kept.clear();
      const int8_t* w = wq + int64_t{4} * rb * k;
      for (int kk = 0; kk < k; ++kk) {
        if (w[kk] | w[k + kk] | w[2 * k + kk] | w[3 * k + kk]) {
          kept.push_back(kk);
        }
      }
      while (kept.size() % 4 != 0) kept.push_back(-1);  // padding block
      for (size_t q = 0; q < kept.size(); q += 4) {
        int8_t quad[16];
        for (int s = 0; s < 4; ++s) {
          const int kk = kept[q + s];
          p.col_.push_back(static_cast<uint16_t>(kk < 0 ? 0 : kk));
          for (int j = 0; j < 4; ++j) {
            quad[j * 4 + s] = kk < 0 ? 0 : w[int64_t{j} * k + kk];
          }
        }
        p.val_.insert(p.val_.end(), quad, quad + 16);
      }
      p.row_ptr_.push_back(static_cast<uint32_t>(p.col_.size()));
    }
  } else {
    if (k % 4 != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("sparse pack ", SparsePatternName(pattern), ": K=", k,
                       " is not a multiple of 4"));
    }
    const int npg = p.nnz_per_group();
    const int span = p.span();
    p.n_pad_ = (n + 15) / 16 * 16;
    p.chunks_ = (k + span - 1) / span;
    const size_t total = size_t{16} * (p.n_pad_ / 16) * p.chunks_ * 4;
    p.nm_idx_.assign(total, 0);
    p.val_.assign(total, 0);
    for (int r = 0; r < n; ++r) {
      const int8_t* w = wq + int64_t{r} * k;
      for (int g = 0; g < k / 4; ++g) {
        const int c = g * 4 / span;             // chunk
        const int gi = (g * 4 - c * span) / 4;  // group within chunk
        int used = 0;
        for (int i = 0; i < 4; ++i) {
          if (w[4 * g + i] == 0) continue;
          if (used == npg) {
            return absl::InvalidArgumentError(
                absl::StrCat("sparse pack ", SparsePatternName(pattern),
                             ": row ", r, " group ", g, " (k=", 4 * g, "..",
                             4 * g + 3, ") has more than ", npg, " non-zeros"));
          }
          const int s = gi * npg + used++;
          // Layout [tile][chunk][row][slot]: tile stride 16*chunks*4.
          const size_t pos =
              ((static_cast<size_t>(r / 16) * p.chunks_ + c) * 16 + r % 16) *
                  4 +
              s;
          p.nm_idx_[pos] = static_cast<uint8_t>(gi * 4 + i);
          p.val_[pos] = w[4 * g + i];
        }
      }
    }
    // Slots of padding rows / padding chunks: idx = first index of the slot's
    // group so Validate()'s group rule holds everywhere.
    for (size_t pos = 0; pos < total; ++pos) {
      const int s = static_cast<int>(pos % 4);
      if (p.val_[pos] == 0) p.nm_idx_[pos] = static_cast<uint8_t>(s / npg * 4);
    }
  }
  p.Derive();
  if (absl::Status s = p.Validate(); !s.ok()) return s;  // self-check
  return p;
}

void PackedSparseInt8::Derive() {
  col_sum_.assign(n_, 0);
  col_off32_.clear();
  ubs4x1_ = {};
  if (pattern_ == SparsePattern::kBlock4x1) {
    col_off32_.resize(col_.size());
    for (size_t b = 0; b < col_.size(); ++b) {
      col_off32_[b] = uint32_t{col_[b]} * 32;
    }
    const int nrb = n_ / 4;
    for (int rb = 0; rb < nrb; ++rb) {
      for (uint32_t q = row_ptr_[rb] / 4; q < row_ptr_[rb + 1] / 4; ++q) {
        const int8_t* quad = val_.data() + size_t{16} * q;
        for (int j = 0; j < 4; ++j) {
          for (int s = 0; s < 4; ++s) col_sum_[4 * rb + j] += quad[j * 4 + s];
        }
      }
    }
    ubs4x1_ = internal::BuildUbs4x1Layout(n_, row_ptr_, col_, val_);
  } else {
    for (int r = 0; r < n_; ++r) {
      for (int c = 0; c < chunks_; ++c) {
        const size_t pos =
            ((static_cast<size_t>(r / 16) * chunks_ + c) * 16 + r % 16) * 4;
        for (int s = 0; s < 4; ++s) col_sum_[r] += val_[pos + s];
      }
    }
  }
}

absl::Status PackedSparseInt8::Validate() const {
  auto bad = [](auto... parts) {
    return absl::DataLossError(absl::StrCat("sparse weights: ", parts...));
  };
  if (n_ < 1 || k_ < 1 || k_ > kMaxK) return bad("bad shape N=", n_, " K=", k_);
  for (int8_t v : val_) {
    if (v == -128) return bad("weight -128");
  }
  if (pattern_ == SparsePattern::kBlock4x1) {
    if (n_ % 4 != 0) return bad("N not a multiple of 4");
    if (row_ptr_.size() != static_cast<size_t>(n_ / 4 + 1) ||
        row_ptr_[0] != 0 || row_ptr_.back() != col_.size() ||
        val_.size() != col_.size() * 4) {
      return bad("inconsistent 4x1 array sizes");
    }
    for (size_t i = 0; i + 1 < row_ptr_.size(); ++i) {
      if (row_ptr_[i + 1] < row_ptr_[i] || row_ptr_[i + 1] % 4 != 0) {
        return bad("row_ptr not increasing multiples of 4 at ", i);
      }
    }
    for (uint16_t c : col_) {
      if (c >= k_) return bad("column ", c, " >= K ", k_);
    }
    return absl::OkStatus();
  }
  if (pattern_ != SparsePattern::k2of4 && pattern_ != SparsePattern::k1of4) {
    return bad("unknown pattern");
  }
  if (k_ % 4 != 0) return bad("K not a multiple of 4");
  const int span = this->span(), npg = nnz_per_group();
  if (n_pad_ != (n_ + 15) / 16 * 16 || chunks_ != (k_ + span - 1) / span) {
    return bad("inconsistent N:M padding");
  }
  const size_t total = size_t{16} * (n_pad_ / 16) * chunks_ * 4;
  if (nm_idx_.size() != total || val_.size() != total) {
    return bad("inconsistent N:M array sizes");
  }
  for (size_t pos = 0; pos < total; ++pos) {
    const int s = static_cast<int>(pos % 4);
    const int row =
        static_cast<int>((pos / 4) % 16 + 16 * (pos / (size_t{64} * chunks_)));
    const int c = static_cast<int>((pos / 64) % chunks_);
    const int idx = nm_idx_[pos];
    if (idx >= span || idx / 4 != s / npg) {
      return bad("N:M index ", idx, " invalid for slot ", s);
    }
    if (val_[pos] != 0 && (row >= n_ || c * span + idx >= k_)) {
      return bad("N:M non-zero weight in padding");
    }
    // Two slots of one group must not name the same input channel.
    if (npg == 2 && s % 2 == 1 && val_[pos] != 0 && val_[pos - 1] != 0 &&
        nm_idx_[pos - 1] == idx) {
      return bad("N:M duplicate index in a group");
    }
  }
  return absl::OkStatus();
}

std::string PackedSparseInt8::ToBytes() const {
  std::string out;
  out.append(kMagic, 4);
  AppendU32(&out, kVersion);
  AppendU32(&out, static_cast<uint32_t>(pattern_));
  AppendU32(&out, static_cast<uint32_t>(n_));
  AppendU32(&out, static_cast<uint32_t>(k_));
  if (pattern_ == SparsePattern::kBlock4x1) {
    AppendU32(&out, static_cast<uint32_t>(col_.size()));
    Append(&out, row_ptr_.data(), row_ptr_.size());
    Append(&out, col_.data(), col_.size());
    Append(&out, val_.data(), val_.size());
  } else {
    AppendU32(&out, static_cast<uint32_t>(chunks_));
    Append(&out, nm_idx_.data(), nm_idx_.size());
    Append(&out, val_.data(), val_.size());
  }
  const uint64_t h = Fnv1a(out.data(), out.size());
  Append(&out, &h, 1);
  return out;
}

absl::StatusOr<PackedSparseInt8> PackedSparseInt8::FromBytes(
    std::string_view bytes) {
  if (bytes.size() < kHeaderBytes + 8) {
    return absl::DataLossError(
        absl::StrCat("sparse weights: blob too short (", bytes.size(), ")"));
  }
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return absl::DataLossError("sparse weights: bad magic");
  }
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (Fnv1a(bytes.data(), bytes.size() - 8) != stored) {
    return absl::DataLossError("sparse weights: checksum mismatch");
  }
  Reader rd(bytes.substr(0, bytes.size() - 8));
  char magic[4];
  uint32_t version = 0, pattern = 0, n = 0, k = 0, count = 0;
  rd.Read(magic, 4);
  rd.Read(&version, 1);
  rd.Read(&pattern, 1);
  rd.Read(&n, 1);
  rd.Read(&k, 1);
  rd.Read(&count, 1);
  if (version != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("sparse weights: unsupported version ", version));
  }
  if (pattern < 1 || pattern > 3) {
    return absl::DataLossError(
        absl::StrCat("sparse weights: unknown pattern ", pattern));
  }
  if (n < 1 || n > (1u << 24) || k < 1 || k > kMaxK) {
    return absl::DataLossError(
        absl::StrCat("sparse weights: bad shape N=", n, " K=", k));
  }
  PackedSparseInt8 p;
  p.pattern_ = static_cast<SparsePattern>(pattern);
  p.n_ = static_cast<int>(n);
  p.k_ = static_cast<int>(k);
  const size_t remaining = bytes.size() - 8 - kHeaderBytes;
  if (p.pattern_ == SparsePattern::kBlock4x1) {
    if (n % 4 != 0) return absl::DataLossError("sparse weights: N % 4 != 0");
    const size_t need =
        (size_t{n} / 4 + 1) * 4 + size_t{count} * 2 + size_t{count} * 4;
    if (need != remaining) {
      return absl::DataLossError("sparse weights: 4x1 size mismatch");
    }
    p.row_ptr_.resize(n / 4 + 1);
    p.col_.resize(count);
    p.val_.resize(size_t{count} * 4);
    rd.Read(p.row_ptr_.data(), p.row_ptr_.size());
    rd.Read(p.col_.data(), p.col_.size());
    rd.Read(p.val_.data(), p.val_.size());
  } else {
    if (k % 4 != 0) return absl::DataLossError("sparse weights: K % 4 != 0");
    p.n_pad_ = static_cast<int>((n + 15) / 16 * 16);
    p.chunks_ = static_cast<int>(count);
    if (p.chunks_ != (p.k_ + p.span() - 1) / p.span()) {
      return absl::DataLossError("sparse weights: N:M chunk count mismatch");
    }
    const size_t total = size_t{16} * (p.n_pad_ / 16) * p.chunks_ * 4;
    if (2 * total != remaining) {
      return absl::DataLossError("sparse weights: N:M size mismatch");
    }
    p.nm_idx_.resize(total);
    p.val_.resize(total);
    rd.Read(p.nm_idx_.data(), total);
    rd.Read(p.val_.data(), total);
  }
  if (absl::Status s = p.Validate(); !s.ok()) return s;
  p.Derive();
  return p;
}

std::vector<int8_t> PackedSparseInt8::ToDense() const {
  std::vector<int8_t> w(static_cast<size_t>(n_) * k_, 0);
  if (pattern_ == SparsePattern::kBlock4x1) {
    for (int rb = 0; rb < n_ / 4; ++rb) {
      for (uint32_t b = row_ptr_[rb]; b < row_ptr_[rb + 1]; ++b) {
        const size_t q = b / 4, s = b % 4;
        for (int j = 0; j < 4; ++j) {
          const int8_t v = val_[q * 16 + j * 4 + s];
          if (v != 0) w[static_cast<size_t>(4 * rb + j) * k_ + col_[b]] = v;
        }
      }
    }
  } else {
    const int span = this->span();
    for (int r = 0; r < n_; ++r) {
      for (int c = 0; c < chunks_; ++c) {
        const size_t pos =
            ((static_cast<size_t>(r / 16) * chunks_ + c) * 16 + r % 16) * 4;
        for (int s = 0; s < 4; ++s) {
          if (val_[pos + s] != 0) {
            w[static_cast<size_t>(r) * k_ + c * span + nm_idx_[pos + s]] =
                val_[pos + s];
          }
        }
      }
    }
  }
  return w;
}

int64_t PackedSparseInt8::stored_weights() const {
  return static_cast<int64_t>(val_.size());
}

double PackedSparseInt8::density() const {
  return static_cast<double>(stored_weights()) / (static_cast<double>(n_) * k_);
}

}  // namespace fastrel
