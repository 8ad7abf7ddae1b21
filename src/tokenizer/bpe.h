#pragma once
// The hot parts of BPE encoding, kept apart from the vocabulary bookkeeping:
// the merge table, the merge loop for one word, and the cache of words
// already encoded. None of them allocates per word.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace s1 {

// (left id, right id) -> (rank, merged id), open addressing on one array.
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  explicit MergeTable(size_t expected = 0);
  // Keeps the first rank given for a pair, as llama.cpp does.
  void insert(int32_t left, int32_t right, Merge merge);
  const Merge* find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (uint64_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // no pair of valid ids packs to this
  static uint64_t pack(int32_t left, int32_t right) { return (uint64_t(uint32_t(left)) << 32) | uint32_t(right); }
  uint64_t slot_of(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
  void grow();
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Scratch space for bpe_merge, reused from word to word.
struct BpeWorkspace {
  struct Symbol {
    int32_t id;    // -1 once merged into its left neighbour
    int32_t prev;  // index of the neighbours, -1 at the ends
    int32_t next;
  };
  struct Candidate {
    int32_t rank;
    int32_t left;  // symbol indexes and the ids they had when this was queued
    int32_t right;
    int32_t left_id;
    int32_t right_id;
    int32_t merged;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

// Applies merges to `ids` (one symbol per byte of a word) lowest rank first,
// leftmost first among equal ranks, and appends the result to `out`. Ids of
// -1 (bytes the vocabulary lacks) never merge and are dropped.
void bpe_merge(const MergeTable& merges, std::span<const int32_t> ids, BpeWorkspace& workspace,
               std::vector<int32_t>& out);

uint64_t hash_bytes(std::string_view bytes);

// Token text -> id over texts the caller keeps alive and unchanged; open
// addressing (a std::unordered_map costs a cache miss per node, and loading a
// vocabulary looks up every merge's three texts).
class TextIndex {
 public:
  explicit TextIndex(const std::vector<std::string>& texts);  // a repeated text keeps the last id
  int32_t find(std::string_view text) const;                 // -1 if absent

 private:
  struct Slot {
    uint32_t hash_tag;  // high bits of the hash, to skip most string compares
    int32_t id;         // -1: empty
  };
  const std::vector<std::string>* texts_;
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
};

// Words already encoded -> their ids. Bounded: it starts over when full.
class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 64;  // longer words are rare; not worth the space
  std::optional<std::span<const int32_t>> find(std::string_view word, uint64_t hash) const;
  void insert(std::string_view word, uint64_t hash, std::span<const int32_t> ids);

 private:
  struct Slot {
    uint64_t hash = 0;  // 0 marks an empty slot (hashes are stored with kOccupied set)
    uint32_t key_offset = 0;
    uint32_t key_length = 0;
    uint32_t ids_offset = 0;
    uint32_t ids_length = 0;
  };
  static constexpr uint64_t kOccupied = uint64_t(1) << 63;  // not among the bits that pick the slot
  static constexpr size_t kSlots = size_t(1) << 18;
  static constexpr size_t kMaxEntries = kSlots / 2;
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t entries_ = 0;
};

}  // namespace s1
