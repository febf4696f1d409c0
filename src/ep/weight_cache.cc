#include "ep/weight_cache.h"

#include <cstring>
#include <new>

namespace anvil {
namespace {

constexpr std::align_val_t kAlignment{64};

// A 64-bit hash of a byte range, 8 bytes per step (multiply and rotate: ample for telling weights
// apart; a hit is confirmed by comparing the bytes).
uint64_t HashBytes(const void* data, size_t size, uint64_t h) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, size - i);
  h = (h ^ tail ^ size) * kMul;
  return h ^ (h >> 32);
}

// A buffer as it counts for identity: its identity bytes if it has them, else its own bytes.
struct Contents {
  const void* data;
  size_t size;
};
Contents ContentsOf(const void* buffer, size_t size, const std::vector<uint8_t>& identity) {
  return identity.empty() ? Contents{buffer, size} : Contents{identity.data(), identity.size()};
}

uint64_t HashBuffers(const std::vector<void*>& buffers, const std::vector<size_t>& sizes,
                     const std::vector<std::vector<uint8_t>>& identities) {
  uint64_t h = buffers.size();
  for (size_t i = 0; i < buffers.size(); ++i) {
    const Contents c = ContentsOf(buffers[i], sizes[i], identities[i]);
    h = HashBytes(c.data, c.size, h);
  }
  return h;
}

bool Same(const std::vector<const void*>& a_buffers, const std::vector<size_t>& a_sizes,
          const std::vector<std::vector<uint8_t>>& a_ids, const std::vector<void*>& b_buffers,
          const std::vector<size_t>& b_sizes, const std::vector<std::vector<uint8_t>>& b_ids) {
  if (a_sizes != b_sizes || a_ids.size() != b_ids.size()) return false;
  for (size_t i = 0; i < a_buffers.size(); ++i) {
    const Contents a = ContentsOf(a_buffers[i], a_sizes[i], a_ids[i]);
    const Contents b = ContentsOf(b_buffers[i], b_sizes[i], b_ids[i]);
    if (a.size != b.size || a_ids[i].empty() != b_ids[i].empty() || std::memcmp(a.data, b.data, a.size) != 0)
      return false;
  }
  return true;
}

}  // namespace

void* AllocatePackedBytes(size_t bytes) {
  void* p = ::operator new(bytes ? bytes : 1, kAlignment);
  // Entries are found by content: padding must be deterministic.
  std::memset(p, 0, bytes);
  return p;
}

void FreePackedBytes(void* p) { ::operator delete(p, kAlignment); }

PackedWeightCache::Entry::~Entry() {
  if (cache_) cache_->Forget(this);
  for (const void* b : buffers_) FreePackedBytes(const_cast<void*>(b));
}

size_t PackedWeightCache::Entry::bytes() const {
  size_t total = 0;
  for (size_t s : sizes_) total += s;
  return total;
}

std::shared_ptr<const PackedWeightCache::Entry> PackedWeightCache::Intern(
    std::vector<void*> buffers, std::vector<size_t> sizes, std::vector<std::vector<uint8_t>> identities, bool& reused) {
  if (identities.size() != buffers.size()) identities.resize(buffers.size());
  const uint64_t hash = HashBuffers(buffers, sizes, identities);
  // Entries locked here may lose their last other owner meanwhile: they must die after the lock
  // is released (an entry's destructor takes it), so `seen` outlives `lock`.
  std::vector<std::shared_ptr<const Entry>> seen;
  std::lock_guard<std::mutex> lock(mutex_);
  auto [first, last] = by_hash_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    std::shared_ptr<const Entry> e = seen.emplace_back(it->second.lock());
    if (e && Same(e->buffers_, e->sizes_, e->identities_, buffers, sizes, identities)) {
      for (void* b : buffers) FreePackedBytes(b);
      reused = true;
      return e;
    }
  }
  auto entry = std::make_shared<Entry>();
  entry->hash_ = hash;
  entry->buffers_.assign(buffers.begin(), buffers.end());
  entry->sizes_ = std::move(sizes);
  entry->identities_ = std::move(identities);
  entry->cache_ = shared_from_this();
  by_hash_.emplace(hash, entry);
  reused = false;
  return entry;
}

void PackedWeightCache::Forget(const Entry* entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [first, last] = by_hash_.equal_range(entry->hash_);
  for (auto it = first; it != last; ++it) {
    // The dying entry's weak_ptr has expired; drop it (and any other expired one under this hash).
    if (it->second.expired()) {
      by_hash_.erase(it);
      return;
    }
  }
}

size_t PackedWeightCache::entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& [h, w] : by_hash_) n += !w.expired();
  return n;
}

size_t PackedWeightCache::bytes() const {
  std::vector<std::shared_ptr<const Entry>> seen;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(mutex_);
  size_t total = 0;
  for (const auto& [h, w] : by_hash_)
    if (auto e = seen.emplace_back(w.lock())) total += e->bytes();
  return total;
}

}  // namespace anvil
