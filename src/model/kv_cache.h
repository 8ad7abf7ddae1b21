#pragma once
// The key/value cache: a pool of fixed-size blocks (kBlockTokens positions of
// every layer each) and, per sequence, a table of the blocks holding its
// positions 0..length-1, like vLLM's paged attention.
//
// Blocks are reference-counted so fork() is cheap: the child shares every
// block of its parent; the first append to a shared, partially filled last
// block copies it (copy on write). Full shared blocks stay shared for good,
// since positions are only ever appended.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/ops.h"

namespace s1 {

class KvCache {
 public:
  static constexpr int kBlockTokens = 16;

  // Room for `capacity_tokens` positions in all (rounded up to whole blocks),
  // shared by up to `max_sequences` sequences. type: F16 or F32. With
  // values_in_keys (multi-head latent attention, whose values are the first
  // elements of its keys) a position stores one row, and v_row is k_row.
  KvCache(int n_layer, int kv_dim, int capacity_tokens, int max_sequences, DType type, bool values_in_keys = false);

  DType type() const { return type_; }
  int kv_dim() const { return kv_dim_; }
  int capacity_tokens() const { return n_blocks_ * kBlockTokens; }
  int free_tokens() const { return int(free_blocks_.size()) * kBlockTokens; }
  size_t bytes() const { return storage_bytes_; }
  size_t bytes_per_token() const { return size_t(n_layer_) * size_t(parts_) * row_bytes_; }

  int new_sequence();    // an empty sequence's id; s1::Error when max_sequences are live
  int fork(int parent);  // a sequence sharing all of parent's positions
  void remove(int seq);  // frees its blocks (those no other sequence shares)
  // Forgets positions n.. of seq (a rolled-back delimiter); their blocks go
  // back to the pool unless shared. What was computed stays counted.
  void truncate(int seq, int n);
  bool exists(int seq) const;
  int length(int seq) const;        // positions stored
  int64_t computed(int seq) const;  // positions this sequence computed itself (not inherited by fork)
  int live_sequences() const;
  // Blocks held by at least one of `seqs` (a block shared by several counts once).
  int distinct_blocks(std::span<const int> seqs) const;
  size_t block_bytes() const { return bytes_per_token() * kBlockTokens; }

  // Blocks that appending n positions to seq would take from the pool
  // (new blocks plus a copy of a shared last block).
  int blocks_needed(int seq, int n) const;
  int free_blocks() const { return int(free_blocks_.size()); }
  // Makes room for n more positions at the end of seq; the caller then writes
  // them with k_row/v_row. Throws s1::Error (changing nothing) when the pool is short.
  void append(int seq, int n);

  // The storage of one position's keys / values (kv_dim elements of type()).
  uint8_t* k_row(int layer, int seq, int pos);
  uint8_t* v_row(int layer, int seq, int pos);

  // Positions begin..end-1 of seq in `layer` as contiguous runs (one per
  // block), for attention: 0..pos for a causal one, the window's last
  // positions for a sliding-window one.
  void runs(int layer, int seq, int begin, int end, std::vector<KvRun>& out) const;

 private:
  struct Sequence {
    std::vector<int> blocks;
    int length = 0;
    int64_t computed = 0;
  };
  const Sequence& seq_ref(int seq) const;
  Sequence& seq_ref(int seq);
  int take_block();
  void release_block(int block);
  size_t block_offset(int layer, int block, bool value) const;

  int n_layer_, kv_dim_, n_blocks_;
  int parts_;  // rows a position stores per layer: 2 (key, value) or 1 (values in keys)
  DType type_;
  size_t row_bytes_;
  // [layer][k|v (parts_)][block][kBlockTokens][kv_dim]; left uninitialized so untouched
  // blocks cost no resident memory.
  std::unique_ptr<uint8_t[]> storage_;
  size_t storage_bytes_ = 0;
  std::vector<int> ref_count_;  // per block
  std::vector<int> free_blocks_;
  std::vector<std::optional<Sequence>> sequences_;
};

}  // namespace s1
