#include "engine/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace fastrel {
namespace {

using nlohmann::json;

// Headers above this are rejected as corrupt (real ones are kilobytes).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct DTypeInfo {
  const char* name;
  SafetensorsDType dtype;
  int bytes;
};
constexpr DTypeInfo kDTypes[] = {
    {"F32", SafetensorsDType::kF32, 4},   {"F16", SafetensorsDType::kF16, 2},
    {"BF16", SafetensorsDType::kBF16, 2}, {"F64", SafetensorsDType::kF64, 8},
    {"I64", SafetensorsDType::kI64, 8},   {"I32", SafetensorsDType::kI32, 4},
    {"I16", SafetensorsDType::kI16, 2},   {"I8", SafetensorsDType::kI8, 1},
    {"U8", SafetensorsDType::kU8, 1},     {"BOOL", SafetensorsDType::kBool, 1},
};

const DTypeInfo* FindDType(const std::string& name) {
  for (const DTypeInfo& d : kDTypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

std::string ShapeString(std::span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

const char* SafetensorsDTypeName(SafetensorsDType dtype) {
  for (const DTypeInfo& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

int64_t SafetensorsTensor::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      mant &= 0x3ff;
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float BFloat16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::string Fnv1a64Hex(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return absl::StrFormat("%016x", h);
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = absl::StrCat(path, ": cannot open: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg)
                         : absl::PermissionDeniedError(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat(
        path, ": truncated (", size, " bytes; the header length alone is 8)"));
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    return absl::InternalError(
        absl::StrCat(path, ": mmap failed: ", std::strerror(errno)));
  }
  f->data_ = static_cast<const uint8_t*>(map);
  f->size_ = size;  // from here on the destructor unmaps

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | f->data_[i];
  if (header_len > kMaxHeaderBytes || header_len > size - 8) {
    return absl::DataLossError(
        absl::StrCat(path, ": header length ", header_len,
                     " runs past the end of the file (", size, " bytes)"));
  }
  f->data_start_ = 8 + header_len;
  const uint64_t data_size = size - f->data_start_;
  json header = json::parse(f->data_ + 8, f->data_ + 8 + header_len, nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": header is not a JSON object"));
  }
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": __metadata__ is not an object"));
      }
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (m.value().is_string()) f->metadata_[m.key()] = m.value();
      }
      continue;
    }
    auto bad = [&](const std::string& what) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensor ", name, ": ", what));
    };
    if (!v.is_object()) return bad("entry is not an object");
    auto dt = v.find("dtype");
    auto shape = v.find("shape");
    auto offsets = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) return bad("missing dtype");
    if (shape == v.end() || !shape->is_array()) return bad("missing shape");
    if (offsets == v.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned()) {
      return bad("data_offsets must be two non-negative integers");
    }
    const DTypeInfo* info = FindDType(dt->get<std::string>());
    if (info == nullptr) {
      return bad(absl::StrCat("unsupported dtype ", dt->dump()));
    }
    SafetensorsTensor t;
    t.name = name;
    t.dtype = info->dtype;
    uint64_t elements = 1;
    for (const json& d : *shape) {
      if (!d.is_number_unsigned()) return bad("shape entries must be >= 0");
      const uint64_t n = d.get<uint64_t>();
      if (n > 0 && elements > std::numeric_limits<uint64_t>::max() / 16 / n) {
        return bad("shape is too large");
      }
      elements *= n;
      t.shape.push_back(static_cast<int64_t>(n));
    }
    t.begin = (*offsets)[0].get<uint64_t>();
    t.end = (*offsets)[1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size) {
      return bad(absl::StrCat("data_offsets [", t.begin, ", ", t.end,
                              ") out of range of the ", data_size,
                              "-byte data section"));
    }
    if (t.end - t.begin != elements * info->bytes) {
      return bad(absl::StrCat("data_offsets span ", t.end - t.begin,
                              " bytes; shape ", ShapeString(t.shape), " ",
                              info->name, " needs ", elements * info->bytes));
    }
    f->tensors_.push_back(std::move(t));
  }
  // Overlap check over tensors sorted by start.
  std::vector<const SafetensorsTensor*> by_begin;
  for (const auto& t : f->tensors_) {
    if (t.end > t.begin) by_begin.push_back(&t);
  }
  std::sort(by_begin.begin(), by_begin.end(),
            [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_begin.size(); ++i) {
    if (by_begin[i]->begin < by_begin[i - 1]->end) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensor ", by_begin[i]->name,
                       " overlaps tensor ", by_begin[i - 1]->name));
    }
  }
  std::sort(f->tensors_.begin(), f->tensors_.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

const SafetensorsTensor* SafetensorsFile::Find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const SafetensorsTensor& t,
                                std::string_view n) { return t.name < n; });
  if (it == tensors_.end() || it->name != name) return nullptr;
  return &*it;
}

absl::StatusOr<std::vector<float>> SafetensorsFile::ReadFloat(
    std::string_view name_view, std::span<const int64_t> shape) const {
  const std::string name(name_view);  // absl::StrCat takes absl::string_view
  const SafetensorsTensor* t = Find(name);
  if (t == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(path_, ": tensor ", name, " is missing"));
  }
  if (!std::equal(t->shape.begin(), t->shape.end(), shape.begin(),
                  shape.end())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": tensor ", name, " has shape ",
                     ShapeString(t->shape), "; expected ", ShapeString(shape)));
  }
  const size_t n = static_cast<size_t>(t->num_elements());
  std::vector<float> out(n);
  const uint8_t* src = data_ + data_start_ + t->begin;
  switch (t->dtype) {
    case SafetensorsDType::kF32:
      std::memcpy(out.data(), src, n * 4);
      break;
    case SafetensorsDType::kF16:
    case SafetensorsDType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t v =
            static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
        out[i] = t->dtype == SafetensorsDType::kF16 ? HalfToFloat(v)
                                                    : BFloat16ToFloat(v);
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": tensor ", name, " has dtype ",
          SafetensorsDTypeName(t->dtype), "; expected F32, F16 or BF16"));
  }
  return out;
}

void SafetensorsWriter::Add(const std::string& name, const char* dtype,
                            std::vector<int64_t> shape, const void* data,
                            size_t bytes) {
  entries_.push_back(Entry{name, dtype, std::move(shape), data_.size(), bytes});
  data_.append(static_cast<const char*>(data), bytes);
}

std::string SafetensorsWriter::Serialize() const {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  for (const Entry& e : entries_) {
    header[e.name] = {{"dtype", e.dtype},
                      {"shape", e.shape},
                      {"data_offsets", {e.offset, e.offset + e.bytes}}};
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');
  std::string out(8, '\0');
  const uint64_t len = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)));
  out += h;
  out += data_;
  return out;
}

}  // namespace fastrel
