#include "tokenizer/bpe.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace s1 {

MergeTable::MergeTable(size_t expected) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, expected * 2));
  slots_.assign(capacity, Slot{kEmpty, {0, 0}});
  mask_ = capacity - 1;
  shift_ = 64 - std::countr_zero(capacity);
}

void MergeTable::insert(int32_t left, int32_t right, Merge merge) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pack(left, right);
  for (uint64_t i = slot_of(key);; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.key == key) return;
    if (slot.key == kEmpty) {
      slot = {key, merge};
      ++size_;
      return;
    }
  }
}

void MergeTable::grow() {
  MergeTable bigger(slots_.size());
  for (const Slot& slot : slots_)
    if (slot.key != kEmpty) bigger.insert(int32_t(slot.key >> 32), int32_t(uint32_t(slot.key)), slot.merge);
  *this = std::move(bigger);
}

namespace {

// Heap order: lowest rank on top, then leftmost.
bool later(const BpeWorkspace::Candidate& a, const BpeWorkspace::Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
}

void queue_pair(const MergeTable& merges, BpeWorkspace& ws, int32_t left, int32_t right) {
  const int32_t left_id = ws.symbols[left].id, right_id = ws.symbols[right].id;
  if (left_id < 0 || right_id < 0) return;
  const MergeTable::Merge* merge = merges.find(left_id, right_id);
  if (!merge) return;
  ws.heap.push_back({merge->rank, left, right, left_id, right_id, merge->merged});
  std::push_heap(ws.heap.begin(), ws.heap.end(), later);
}

}  // namespace

void bpe_merge(const MergeTable& merges, std::span<const int32_t> ids, BpeWorkspace& ws,
               std::vector<int32_t>& out) {
  const auto n = int32_t(ids.size());
  ws.symbols.resize(ids.size());
  ws.heap.clear();
  for (int32_t i = 0; i < n; ++i) ws.symbols[i] = {ids[i], i - 1, i + 1 < n ? i + 1 : -1};
  for (int32_t i = 0; i + 1 < n; ++i) queue_pair(merges, ws, i, i + 1);

  while (!ws.heap.empty()) {
    std::pop_heap(ws.heap.begin(), ws.heap.end(), later);
    const BpeWorkspace::Candidate c = ws.heap.back();
    ws.heap.pop_back();
    auto& left = ws.symbols[c.left];
    auto& right = ws.symbols[c.right];
    // Stale when either side has merged with something else since.
    if (left.id != c.left_id || left.next != c.right || right.id != c.right_id) continue;
    left.id = c.merged;
    left.next = right.next;
    if (right.next >= 0) ws.symbols[right.next].prev = c.left;
    right.id = -1;
    if (left.prev >= 0) queue_pair(merges, ws, left.prev, c.left);
    if (left.next >= 0) queue_pair(merges, ws, c.left, left.next);
  }
  // Symbol 0 is never merged away (merges fold the right side into the left),
  // so the chain starts there; unknown bytes (-1) that never merged are skipped.
  for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = ws.symbols[i].next)
    if (ws.symbols[i].id >= 0) out.push_back(ws.symbols[i].id);
}

uint64_t hash_bytes(std::string_view bytes) {
  constexpr uint64_t kMul = 0xBF58476D1CE4E5B9ull;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, bytes.data() + i, 8);
    h = (h ^ chunk) * kMul;
    h ^= h >> 29;
  }
  if (i < bytes.size()) {
    uint64_t chunk = 0;
    std::memcpy(&chunk, bytes.data() + i, bytes.size() - i);
    h = (h ^ chunk) * kMul;
    h ^= h >> 29;
  }
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 32);
}

TextIndex::TextIndex(const std::vector<std::string>& texts) : texts_(&texts) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, texts.size() * 2));
  slots_.assign(capacity, Slot{0, -1});
  mask_ = capacity - 1;
  for (size_t id = 0; id < texts.size(); ++id) {
    const uint64_t hash = hash_bytes(texts[id]);
    const auto tag = uint32_t(hash >> 32);
    for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.id < 0 || (slot.hash_tag == tag && texts[slot.id] == texts[id])) {
        slot = {tag, int32_t(id)};
        break;
      }
    }
  }
}

int32_t TextIndex::find(std::string_view text) const {
  const uint64_t hash = hash_bytes(text);
  const auto tag = uint32_t(hash >> 32);
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& slot = slots_[i];
    if (slot.id < 0) return -1;
    if (slot.hash_tag == tag && (*texts_)[slot.id] == text) return slot.id;
  }
}

std::optional<std::span<const int32_t>> WordCache::find(std::string_view word, uint64_t hash) const {
  if (slots_.empty()) return std::nullopt;
  hash |= kOccupied;
  for (size_t i = hash & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const Slot& slot = slots_[i];
    if (slot.hash == 0) return std::nullopt;
    if (slot.hash == hash && slot.key_length == word.size() &&
        std::memcmp(keys_.data() + slot.key_offset, word.data(), word.size()) == 0)
      return std::span<const int32_t>(ids_.data() + slot.ids_offset, slot.ids_length);
  }
}

void WordCache::insert(std::string_view word, uint64_t hash, std::span<const int32_t> ids) {
  if (word.size() > kMaxWordBytes) return;
  if (slots_.empty() || entries_ >= kMaxEntries) {
    slots_.assign(kSlots, Slot{});
    keys_.clear();
    ids_.clear();
    entries_ = 0;
  }
  hash |= kOccupied;
  size_t i = hash & (kSlots - 1);
  while (slots_[i].hash != 0) i = (i + 1) & (kSlots - 1);
  slots_[i] = {hash, uint32_t(keys_.size()), uint32_t(word.size()), uint32_t(ids_.size()), uint32_t(ids.size())};
  keys_.append(word);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  ++entries_;
}

}  // namespace s1
