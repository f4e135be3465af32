// A fixed-size, 64-byte-aligned scratch array for packed GEMM panels (one cache line and one
// AVX-512 vector per 64 bytes). Contents start uninitialised.
#pragma once

#include <cstddef>
#include <new>

namespace xpusim::kernels::detail {

template <class T>
class AlignedBuffer {
 public:
  static constexpr std::align_val_t kAlign{64};
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) : n_(n) {
    if (n_ != 0) data_ = static_cast<T*>(::operator new(n_ * sizeof(T), kAlign));
  }
  ~AlignedBuffer() { release(); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), n_(o.n_) {
    o.data_ = nullptr, o.n_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_, n_ = o.n_;
      o.data_ = nullptr, o.n_ = 0;
    }
    return *this;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return n_; }
  T& operator[](std::size_t i) { return data_[i]; }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete(data_, kAlign);
    data_ = nullptr;
  }
  T* data_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace xpusim::kernels::detail
