// Packed constant weights shared across sessions: the factory's content-addressed cache.
//
// ORT shares pre-packed weights across sessions only for its own CPU EP's kernels (and only for
// initializers added with AddInitializer), so without this every session of a model on Anvil held
// its own packed copy. A kernel packs as usual; Intern() then looks for an entry with the same
// bytes (hash, then a full compare) and hands out that one, freeing the new copy. Entries are
// reference-counted by the kernels using them and live in Anvil's own memory (not a session's
// allocator), so they may outlive the session, the EP and the factory that made them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace anvil {

// Memory for packed weights that no session owns: 64-byte aligned, zero-filled.
void* AllocatePackedBytes(size_t bytes);
void FreePackedBytes(void* p);

class PackedWeightCache : public std::enable_shared_from_this<PackedWeightCache> {
 public:
  // One packed weight: its buffers, freed when the last kernel using it goes.
  class Entry {
   public:
    ~Entry();
    const std::vector<const void*>& buffers() const { return buffers_; }
    const std::vector<size_t>& sizes() const { return sizes_; }
    size_t bytes() const;

   private:
    friend class PackedWeightCache;
    uint64_t hash_ = 0;
    std::vector<const void*> buffers_;
    std::vector<size_t> sizes_;
    std::vector<std::vector<uint8_t>> identities_;
    std::shared_ptr<PackedWeightCache> cache_;  // for un-listing itself
  };

  // Takes ownership of `buffers` (from AllocatePackedBytes): returns the entry with identical
  // contents if there is one (and frees `buffers`), else a new entry holding them. `reused` says
  // which. A buffer's contents are its bytes, or its identity where one is given (PackSink).
  std::shared_ptr<const Entry> Intern(std::vector<void*> buffers, std::vector<size_t> sizes,
                                      std::vector<std::vector<uint8_t>> identities, bool& reused);

  // Live entries and their bytes (for logs and tests).
  size_t entries() const;
  size_t bytes() const;

 private:
  void Forget(const Entry* entry);

  mutable std::mutex mutex_;
  std::unordered_multimap<uint64_t, std::weak_ptr<const Entry>> by_hash_;
};

}  // namespace anvil
