#include "engine/compile/pattern.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace fastrel::compile {
namespace {

// A requested sparsity this close to an N:M pattern's implied one is accepted
// as "the same" (covers 0.5 vs 0.50000000001 from config round trips).
constexpr double kImpliedSparsityTolerance = 1e-9;

}  // namespace

absl::StatusOr<Pattern> ParsePattern(std::string_view text) {
  if (text == "unstructured") return Pattern::kUnstructured;
  if (text == "4x1") return Pattern::k4x1;
  if (text == "2:4") return Pattern::k2of4;
  if (text == "1:4") return Pattern::k1of4;
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown sparsity pattern '%s'; valid patterns: unstructured, 4x1, 2:4, "
      "1:4",
      text));
}

std::string_view PatternName(Pattern pattern) {
  switch (pattern) {
    case Pattern::kUnstructured:
      return "unstructured";
    case Pattern::k4x1:
      return "4x1";
    case Pattern::k2of4:
      return "2:4";
    case Pattern::k1of4:
      return "1:4";
  }
  return "unknown";
}

bool IsNofM(Pattern pattern) {
  return pattern == Pattern::k2of4 || pattern == Pattern::k1of4;
}

int PatternKeep(Pattern pattern) {
  switch (pattern) {
    case Pattern::k2of4:
      return 2;
    case Pattern::k1of4:
      return 1;
    default:
      return 0;
  }
}

int PatternGroup(Pattern pattern) { return IsNofM(pattern) ? 4 : 0; }

absl::StatusOr<double> ResolveSparsity(Pattern pattern,
                                       std::optional<double> requested) {
  if (IsNofM(pattern)) {
    const double implied =
        1.0 - static_cast<double>(PatternKeep(pattern)) / PatternGroup(pattern);
    if (requested.has_value() &&
        !(std::abs(*requested - implied) <= kImpliedSparsityTolerance)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "pattern %s implies sparsity %g; requested sparsity %g disagrees "
          "(omit it or pass %g)",
          PatternName(pattern), implied, *requested, implied));
    }
    return implied;
  }
  if (!requested.has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "pattern %s needs a sparsity in (0, 1)", PatternName(pattern)));
  }
  const double s = *requested;
  if (!std::isfinite(s) || !(s > 0.0) || !(s < 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sparsity must be in the open interval (0, 1), got %g", s));
  }
  return s;
}

int64_t PrunedPerRow(double sparsity, int64_t cols) {
  return static_cast<int64_t>(
      std::llround(sparsity * static_cast<double>(cols)));
}

absl::Status ValidateShape(Pattern pattern, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "layer shape must be positive, got %d x %d", rows, cols));
  }
  if (pattern == Pattern::k4x1 && rows % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "pattern 4x1 needs the number of output channels to be a multiple of "
        "4, got %d",
        rows));
  }
  if (IsNofM(pattern) && cols % PatternGroup(pattern) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "pattern %s needs the number of input channels to be a multiple of "
        "%d, got %d",
        PatternName(pattern), PatternGroup(pattern), cols));
  }
  return absl::OkStatus();
}

absl::Status CheckMask(absl::Span<const uint8_t> mask, int64_t rows,
                       int64_t cols, Pattern pattern, double sparsity) {
  if (absl::Status s = ValidateShape(pattern, rows, cols); !s.ok()) return s;
  if (mask.size() != static_cast<size_t>(rows * cols)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mask has %d entries, expected %d x %d", mask.size(), rows, cols));
  }
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] > 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("mask entry %d is %d, expected 0 or 1", i, mask[i]));
    }
  }
  if (IsNofM(pattern)) {
    const int m = PatternGroup(pattern);
    const int n = PatternKeep(pattern);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < cols; g += m) {
        int kept = 0;
        for (int j = 0; j < m; ++j) kept += mask[r * cols + g + j];
        if (kept != n) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "row %d, columns %d..%d keep %d weights; pattern %s keeps %d", r,
              g, g + m - 1, kept, PatternName(pattern), n));
        }
      }
    }
    return absl::OkStatus();
  }
  const int64_t want_pruned = PrunedPerRow(sparsity, cols);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t pruned = 0;
    for (int64_t c = 0; c < cols; ++c) pruned += mask[r * cols + c] == 0;
    if (pruned != want_pruned) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "row %d prunes %d of %d weights; sparsity %g needs exactly %d", r,
          pruned, cols, sparsity, want_pruned));
    }
    if (pattern == Pattern::k4x1 && r % 4 != 0) {
      const int64_t lead = r - r % 4;
      for (int64_t c = 0; c < cols; ++c) {
        if (mask[r * cols + c] != mask[lead * cols + c]) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "4x1 block (rows %d..%d, column %d) is partly pruned", lead,
              lead + 3, c));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace fastrel::compile
