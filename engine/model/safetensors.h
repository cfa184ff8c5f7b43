// Reader and writer for the safetensors format
// (https://huggingface.co/docs/safetensors): u64 little-endian header length, a
// JSON header mapping tensor names to {dtype, shape, data_offsets}, then the
// raw little-endian data.
#ifndef FASTREL_ENGINE_MODEL_SAFETENSORS_H_
#define FASTREL_ENGINE_MODEL_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace fastrel {

enum class SafetensorsDType {
  kF32,
  kF16,
  kBF16,
  kF64,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool
};

// "F32", "F16", ...
const char* SafetensorsDTypeName(SafetensorsDType dtype);

struct SafetensorsTensor {
  std::string name;
  SafetensorsDType dtype = SafetensorsDType::kF32;
  std::vector<int64_t> shape;
  // Byte range within the data section (after the header).
  uint64_t begin = 0, end = 0;

  int64_t num_elements() const;
};

// A memory-mapped safetensors file, validated on Open: every tensor's byte
// range lies inside the file, matches its dtype and shape, and no two ranges
// overlap. The mapping is released on destruction.
// Thread safety: immutable after Open; all const methods may be called
// concurrently.
class SafetensorsFile {
 public:
  // Maps and validates `path`. Errors (NOT_FOUND for a missing file,
  // INVALID_ARGUMENT / DATA_LOSS for a corrupt one) name the file and, where
  // one is at fault, the tensor.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(
      const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // All tensors, sorted by name.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  // "__metadata__" string entries.
  const std::map<std::string, std::string>& metadata() const {
    return metadata_;
  }
  // The tensor called `name`, or nullptr.
  const SafetensorsTensor* Find(std::string_view name) const;

  // The tensor `name` converted to fp32 (from F32, F16 or BF16), row-major.
  // Fails with NOT_FOUND when missing, INVALID_ARGUMENT when its shape is not
  // `shape` or its dtype is not a float type; messages name file and tensor.
  absl::StatusOr<std::vector<float>> ReadFloat(
      std::string_view name, std::span<const int64_t> shape) const;

  // The whole file's bytes (valid while this object lives).
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  SafetensorsFile() = default;

  std::string path_;
  const uint8_t* data_ = nullptr;  // mmap of the whole file
  size_t size_ = 0;
  size_t data_start_ = 0;  // 8 + header length
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Accumulates tensors and serializes them in the safetensors layout (tensors
// in the order added; the header's "__metadata__" is `metadata`). Data is
// copied on Add. Not thread-safe; a plain value.
class SafetensorsWriter {
 public:
  explicit SafetensorsWriter(std::map<std::string, std::string> metadata = {})
      : metadata_(std::move(metadata)) {}
  // `dtype` is a safetensors dtype name ("F32", "I8", "U8", ...); `bytes`
  // must be the product of `shape` times the dtype's size.
  void Add(const std::string& name, const char* dtype,
           std::vector<int64_t> shape, const void* data, size_t bytes);
  void AddF32(const std::string& name, std::vector<int64_t> shape,
              const std::vector<float>& v) {
    Add(name, "F32", std::move(shape), v.data(), v.size() * sizeof(float));
  }
  // The whole file: length, header (padded to 8 bytes), data.
  std::string Serialize() const;

 private:
  struct Entry {
    std::string name;
    const char* dtype;
    std::vector<int64_t> shape;
    size_t offset, bytes;
  };
  std::map<std::string, std::string> metadata_;
  std::vector<Entry> entries_;
  std::string data_;
};

// IEEE half / bfloat16 bit patterns to float.
float HalfToFloat(uint16_t h);
float BFloat16ToFloat(uint16_t b);

// 64-bit FNV-1a hash of `bytes` as 16 lowercase hex digits.
std::string Fnv1a64Hex(std::span<const uint8_t> bytes);

}  // namespace fastrel

#endif  // FASTREL_ENGINE_MODEL_SAFETENSORS_H_
