#include "model/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "util/error.h"

namespace s1 {

KvCache::KvCache(int n_layer, int kv_dim, int capacity_tokens, int max_sequences, DType type, bool values_in_keys)
    : n_layer_(n_layer),
      kv_dim_(kv_dim),
      n_blocks_((std::max(capacity_tokens, 1) + kBlockTokens - 1) / kBlockTokens),
      parts_(values_in_keys ? 1 : 2),
      type_(type) {
  if (type != DType::F16 && type != DType::F32)
    fail("KV cache type {} is not supported (supported: f16, f32)", dtype_name(type));
  if (n_layer <= 0 || kv_dim <= 0 || max_sequences <= 0)
    fail("KV cache: {} layers, {} KV dims and {} sequences is not a usable shape", n_layer, kv_dim,
         max_sequences);
  row_bytes_ = size_t(kv_dim) * (type == DType::F16 ? 2 : 4);
  storage_bytes_ = size_t(n_layer) * size_t(parts_) * size_t(n_blocks_) * kBlockTokens * row_bytes_;
  storage_.reset(new uint8_t[storage_bytes_]);
  ref_count_.assign(size_t(n_blocks_), 0);
  // Hand out low block numbers first (a stack popped from the back).
  for (int b = n_blocks_ - 1; b >= 0; --b) free_blocks_.push_back(b);
  sequences_.resize(size_t(max_sequences));
}

const KvCache::Sequence& KvCache::seq_ref(int seq) const {
  if (!exists(seq)) fail("KV cache: sequence {} does not exist", seq);
  return *sequences_[size_t(seq)];
}

KvCache::Sequence& KvCache::seq_ref(int seq) {
  return const_cast<Sequence&>(static_cast<const KvCache*>(this)->seq_ref(seq));
}

bool KvCache::exists(int seq) const {
  return seq >= 0 && size_t(seq) < sequences_.size() && sequences_[size_t(seq)].has_value();
}

int KvCache::length(int seq) const { return seq_ref(seq).length; }
int64_t KvCache::computed(int seq) const { return seq_ref(seq).computed; }

int KvCache::live_sequences() const {
  return int(
      std::count_if(sequences_.begin(), sequences_.end(), [](const auto& s) { return s.has_value(); }));
}

int KvCache::distinct_blocks(std::span<const int> seqs) const {
  std::vector<int> blocks;
  for (int seq : seqs) {
    const auto& held = seq_ref(seq).blocks;
    blocks.insert(blocks.end(), held.begin(), held.end());
  }
  std::sort(blocks.begin(), blocks.end());
  return int(std::unique(blocks.begin(), blocks.end()) - blocks.begin());
}

int KvCache::new_sequence() {
  for (size_t i = 0; i < sequences_.size(); ++i) {
    if (!sequences_[i]) {
      sequences_[i].emplace();
      return int(i);
    }
  }
  fail("KV cache: all {} sequence slots are in use", sequences_.size());
}

int KvCache::fork(int parent) {
  Sequence copy = seq_ref(parent);
  copy.computed = 0;
  const int child = new_sequence();
  for (int b : copy.blocks) ++ref_count_[size_t(b)];
  sequences_[size_t(child)] = std::move(copy);
  return child;
}

void KvCache::remove(int seq) {
  for (int b : seq_ref(seq).blocks) release_block(b);
  sequences_[size_t(seq)].reset();
}

void KvCache::truncate(int seq, int n) {
  Sequence& s = seq_ref(seq);
  if (n < 0 || n > s.length)
    fail("KV cache: cannot truncate sequence {} of {} positions to {}", seq, s.length, n);
  const size_t keep = size_t((n + kBlockTokens - 1) / kBlockTokens);
  for (size_t i = keep; i < s.blocks.size(); ++i) release_block(s.blocks[i]);
  s.blocks.resize(keep);
  s.length = n;  // a shared tail block is copied on the next append
}

int KvCache::take_block() {
  const int b = free_blocks_.back();
  free_blocks_.pop_back();
  ref_count_[size_t(b)] = 1;
  return b;
}

void KvCache::release_block(int block) {
  if (--ref_count_[size_t(block)] == 0) free_blocks_.push_back(block);
}

int KvCache::blocks_needed(int seq, int n) const {
  const Sequence& s = seq_ref(seq);
  const int have = int(s.blocks.size());
  const int need = (s.length + n + kBlockTokens - 1) / kBlockTokens;
  const bool shared_partial_tail =
      n > 0 && s.length % kBlockTokens != 0 && ref_count_[size_t(s.blocks.back())] > 1;
  return std::max(need - have, 0) + (shared_partial_tail ? 1 : 0);
}

void KvCache::append(int seq, int n) {
  const int needed = blocks_needed(seq, n);
  if (needed > free_blocks())
    fail("KV cache is full: sequence {} needs {} more tokens of room but {} of {} are free (raise --ctx)",
         seq, needed * kBlockTokens, free_tokens(), capacity_tokens());
  Sequence& s = seq_ref(seq);
  if (n > 0 && s.length % kBlockTokens != 0 && ref_count_[size_t(s.blocks.back())] > 1) {
    // Copy on write: the tail block's free slots are about to be written.
    const int shared = s.blocks.back();
    const int own = take_block();
    for (int layer = 0; layer < n_layer_; ++layer) {
      for (int part = 0; part < parts_; ++part) {
        std::memcpy(storage_.get() + block_offset(layer, own, part == 1),
                    storage_.get() + block_offset(layer, shared, part == 1), kBlockTokens * row_bytes_);
      }
    }
    release_block(shared);
    s.blocks.back() = own;
  }
  while (int(s.blocks.size()) * kBlockTokens < s.length + n) s.blocks.push_back(take_block());
  s.length += n;
  s.computed += n;
}

size_t KvCache::block_offset(int layer, int block, bool value) const {
  const size_t block_bytes = kBlockTokens * row_bytes_;
  return ((size_t(layer) * size_t(parts_) + (value && parts_ == 2 ? 1 : 0)) * size_t(n_blocks_) + size_t(block)) *
         block_bytes;
}

uint8_t* KvCache::k_row(int layer, int seq, int pos) {
  const Sequence& s = seq_ref(seq);
  return storage_.get() + block_offset(layer, s.blocks[size_t(pos / kBlockTokens)], false) +
         size_t(pos % kBlockTokens) * row_bytes_;
}

uint8_t* KvCache::v_row(int layer, int seq, int pos) {
  const Sequence& s = seq_ref(seq);
  return storage_.get() + block_offset(layer, s.blocks[size_t(pos / kBlockTokens)], true) +
         size_t(pos % kBlockTokens) * row_bytes_;
}

void KvCache::runs(int layer, int seq, int begin, int end, std::vector<KvRun>& out) const {
  const Sequence& s = seq_ref(seq);
  out.clear();
  for (int start = begin; start < end;) {
    const int block = s.blocks[size_t(start / kBlockTokens)], in_block = start % kBlockTokens;
    const int n = std::min(kBlockTokens - in_block, end - start);
    const size_t skip = size_t(in_block) * row_bytes_;
    out.push_back({storage_.get() + block_offset(layer, block, false) + skip,
                   storage_.get() + block_offset(layer, block, true) + skip, n});
    start += n;
  }
}

}  // namespace s1
