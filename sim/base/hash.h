// FNV-1a, 64 bits: a content hash that is stable across runs, builds and platforms (unlike
// std::hash), for fingerprints and cache keys. Not a cryptographic hash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace xpusim {

class Fnv1a64 {
 public:
  Fnv1a64& add(std::string_view bytes) {
    for (unsigned char c : bytes) {
      h_ ^= c;
      h_ *= 1099511628211ull;
    }
    return *this;
  }
  // A field of a composite key: its length first, so that ("ab","c") and ("a","bc") differ.
  Fnv1a64& field(std::string_view bytes) {
    add(std::to_string(bytes.size()));
    add(":");
    return add(bytes);
  }
  std::uint64_t value() const { return h_; }
  std::string hex() const;  // 16 lowercase hex digits

 private:
  std::uint64_t h_ = 1469598103934665603ull;
};

}  // namespace xpusim
