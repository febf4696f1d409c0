// Shapes and broadcasting: plain data, no ORT types (usable by the compute layer).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace anvil {

// Tensor dims: a vector of int64_t that keeps up to kInline dims in place, so that shapes made on a
// kernel's hot path (inputs, outputs, broadcast results) allocate nothing. Larger ranks spill to
// the heap. The interface is the subset of std::vector's that Anvil uses.
class Shape {
 public:
  static constexpr size_t kInline = 8;
  using value_type = int64_t;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;

  Shape() = default;
  explicit Shape(size_t n, int64_t v = 0) { assign(n, v); }
  Shape(std::initializer_list<int64_t> v) { assign(v.begin(), v.end()); }
  template <typename It, typename = decltype(*std::declval<It>())>
  Shape(It first, It last) { assign(first, last); }
  Shape(const std::vector<int64_t>& v) { assign(v.begin(), v.end()); }  // NOLINT: implicit on purpose
  Shape(const Shape& o) { assign(o.begin(), o.end()); }
  Shape(Shape&& o) noexcept { *this = std::move(o); }
  Shape& operator=(const Shape& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  Shape& operator=(Shape&& o) noexcept {
    if (this == &o) return *this;
    if (o.heap_) {
      heap_ = std::move(o.heap_);
      capacity_ = o.capacity_;
      data_ = heap_.get();
    } else {
      heap_.reset();
      capacity_ = kInline;
      data_ = inline_;
      std::copy(o.inline_, o.inline_ + o.size_, inline_);
    }
    size_ = o.size_;
    o.heap_.reset();
    o.data_ = o.inline_;
    o.capacity_ = kInline;
    o.size_ = 0;
    return *this;
  }
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return data_; }
  const int64_t* data() const { return data_; }
  iterator begin() { return data_; }
  iterator end() { return data_ + size_; }
  const_iterator begin() const { return data_; }
  const_iterator end() const { return data_ + size_; }
  int64_t& operator[](size_t i) { return data_[i]; }
  int64_t operator[](size_t i) const { return data_[i]; }
  int64_t& front() { return data_[0]; }
  int64_t front() const { return data_[0]; }
  int64_t& back() { return data_[size_ - 1]; }
  int64_t back() const { return data_[size_ - 1]; }

  void reserve(size_t n) {
    if (n <= capacity_) return;
    size_t cap = std::max(n, 2 * capacity_);
    std::unique_ptr<int64_t[]> fresh(new int64_t[cap]);
    std::copy(data_, data_ + size_, fresh.get());
    heap_ = std::move(fresh);
    data_ = heap_.get();
    capacity_ = cap;
  }
  void clear() { size_ = 0; }
  void resize(size_t n, int64_t v = 0) {
    reserve(n);
    for (size_t i = size_; i < n; ++i) data_[i] = v;
    size_ = n;
  }
  void assign(size_t n, int64_t v) {
    size_ = 0;
    resize(n, v);
  }
  template <typename It>
  void assign(It first, It last) {
    const size_t n = static_cast<size_t>(std::distance(first, last));
    size_ = 0;
    reserve(n);
    std::copy(first, last, data_);
    size_ = n;
  }
  void push_back(int64_t v) {
    reserve(size_ + 1);
    data_[size_++] = v;
  }
  void pop_back() { --size_; }
  iterator insert(const_iterator pos, int64_t v) { return insert(pos, &v, &v + 1); }
  iterator insert(const_iterator pos, std::initializer_list<int64_t> v) { return insert(pos, v.begin(), v.end()); }
  template <typename It>
  iterator insert(const_iterator pos, It first, It last) {
    const size_t at = static_cast<size_t>(pos - data_);
    const size_t n = static_cast<size_t>(std::distance(first, last));
    int64_t tmp[kInline];
    std::vector<int64_t> spill;
    int64_t* src = tmp;  // copy first: [first, last) may point into this shape
    if (n > kInline) {
      spill.assign(first, last);
      src = spill.data();
    } else {
      std::copy(first, last, tmp);
    }
    reserve(size_ + n);
    std::copy_backward(data_ + at, data_ + size_, data_ + size_ + n);
    std::copy(src, src + n, data_ + at);
    size_ += n;
    return data_ + at;
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    const size_t at = static_cast<size_t>(first - data_), n = static_cast<size_t>(last - first);
    std::copy(data_ + at + n, data_ + size_, data_ + at);
    size_ -= n;
    return data_ + at;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }
  friend bool operator<(const Shape& a, const Shape& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  int64_t inline_[kInline] = {};
  int64_t* data_ = inline_;
  size_t size_ = 0;
  size_t capacity_ = kInline;
  std::unique_ptr<int64_t[]> heap_;
};

// The product of the dims, saturated: a shape whose element count does not fit in int64_t (dims
// fed from a tensor can be anything) gives kTooManyElements instead of a wrapped count, unless a
// dim is 0 (then the count is 0, exactly). ComputeContext::Output refuses such shapes, so a kernel
// that allocates its outputs before looping never sees one.
constexpr int64_t kTooManyElements = INT64_MAX;
inline int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  bool saturated = false;
  for (int64_t d : s) {
    if (d == 0) return 0;
    if (!saturated && __builtin_mul_overflow(n, d, &n)) saturated = true;
  }
  return saturated ? kTooManyElements : n;
}

inline std::string ToString(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// Numpy-style multidirectional broadcast. Returns false if the shapes are incompatible.
// Unknown dims (-1) are allowed and propagate as -1 unless the other side fixes them.
bool BroadcastShapes(const Shape& a, const Shape& b, Shape& out);

// Normalises a possibly negative axis into [0, rank); false if out of range.
inline bool NormalizeAxis(int64_t axis, int64_t rank, int64_t& out) {
  if (axis < -rank || axis >= rank) return false;
  out = axis < 0 ? axis + rank : axis;
  return true;
}

// Channels-last shapes (ORT's internal NHWC domain): [N, spatial..., C] <-> [N, C, spatial...].
// Rank below 3 is returned as is.
inline Shape ChannelsFirst(const Shape& s) {
  if (s.size() < 3) return s;
  Shape out;
  out.push_back(s[0]);
  out.push_back(s[s.size() - 1]);
  for (size_t i = 1; i + 1 < s.size(); ++i) out.push_back(s[i]);
  return out;
}
inline Shape ChannelsLast(const Shape& s) {
  if (s.size() < 3) return s;
  Shape out;
  out.push_back(s[0]);
  for (size_t i = 2; i < s.size(); ++i) out.push_back(s[i]);
  out.push_back(s[1]);
  return out;
}

}  // namespace anvil
