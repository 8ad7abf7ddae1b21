#pragma once
// The kernels of one instruction set, behind one dispatch. Each set lives in
// its own folder (avx512/, avx2/, neon/, scalar/), compiled for its own target
// while the rest of the binary targets a baseline (x86-64-v2, armv8-a); at
// start the engine probes the CPU and takes the best set it can run, or the
// one S1_CPU=avx512|avx2|neon|scalar names. Only code reached through these
// pointers may use a set's instructions (tests/architecture checks the binary).
//
// Every entry works on raw pointers: containers and other library templates
// stay out of the per-target folders, whose copies of an inline function the
// linker could otherwise pick for the baseline code.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tensor/attention_block.h"
#include "tensor/matmul_kernels.h"

namespace s1 {

struct KernelSet {
  std::string_view name;  // "avx512", "avx2", "neon", "scalar"

  // matmul (tensor/matmul.h) by weight family.
  const matmul_kernels::Family* float_family;       // F32, F16, BF16
  const matmul_kernels::Family* block32_family;     // Q4_0, Q5_0, Q8_0, MXFP4
  const matmul_kernels::Family* superblock_family;  // Q4_K, Q5_K, Q6_K

  // Reductions over a row of logits (tensor/reduce.h has the contracts).
  float (*max_value)(const float* x, int64_t n);
  int64_t (*first_equal)(const float* x, int64_t n, float value);  // -1 if none
  double (*log_sum_exp)(const float* x, int64_t n, float max);    // max: max_value(x, n), finite
  int64_t (*count_at_least)(const float* x, int64_t n, float threshold);
  // Writes i + base for each i in [0, n) with x[i] >= threshold, ascending, to
  // out (room for n); returns how many.
  int64_t (*indices_at_least)(const float* x, int64_t n, float threshold, int32_t base, int32_t* out);

  // Vector arithmetic: attention and the trainer's backward.
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  float (*dot_f16)(const float* a, const uint16_t* b, int64_t n);
  void (*axpy_f32)(float w, const float* x, float* y, int64_t n);  // y += w x
  void (*axpy_f16)(float w, const uint16_t* x, float* y, int64_t n);
  // out[i] = silu(gate[i]) · up[i], or silu(gate[i]) when up is null; out may
  // be gate or up. The FFNs' activation and Gated DeltaNet's.
  void (*swiglu_f32)(const float* gate, const float* up, float* out, int64_t n);
  // Gated DeltaNet's delta rule for one token on n_rows rows of a head's state
  // (row j: value dimension j, dim floats), the state being m · rows:
  //   a = rows[j] · k;  δ = (v[j] − m·a)·β;  rows[j] += (δ / m)·k;  o[j] = m · (rows[j] · q)
  // Rows are independent; a set interleaves several to hide the reductions'
  // latency and fuses the update with the second product (two passes a row).
  void (*delta_rule_rows)(float* rows, int64_t n_rows, int64_t dim, const float* k, const float* q, const float* v,
                          float m, float beta, float* o);
  // Prompt processing's attention: a block of queries sharing a KV head over
  // the cached keys (tensor/attention_block.h), one template in every set.
  void (*attention_block)(const AttentionBlock& block);

  // The trainer's BF16 product over rows padded to 32 elements (train/matmul_bf16.h):
  // out[t * out_stride + r] = w[r] . x[t] for r < n_rows, t < n_tokens. Null
  // where the CPU has no BF16 dot product.
  void (*bf16_rows)(const uint16_t* const* w, int n_rows, const uint16_t* const* x, int n_tokens, int64_t stride,
                    float* out, int64_t out_stride);
};

// The set in use: chosen on first use from S1_CPU or the CPU's features.
// Throws s1::Error when S1_CPU names a set this CPU or build cannot run.
const KernelSet& kernels();

// Every set this binary has that this CPU can run, best first.
std::span<const KernelSet* const> usable_kernel_sets();

// Switches the set in use (tests, benchmarks); throws like kernels() for a set
// this CPU cannot run. Not for use while other threads compute.
void use_kernels(std::string_view name);

// The sets compiled into this binary, per instruction set. Defined in each folder.
#if defined(__x86_64__)
const KernelSet& avx512_kernels();  // needs avx512f/bw/vl/dq + avx512_vnni (+ avx512_bf16 for bf16_rows)
const KernelSet& avx2_kernels();    // needs avx2 + fma + f16c
#elif defined(__aarch64__)
const KernelSet& neon_kernels();    // Advanced SIMD (+ dotprod where present)
#endif
const KernelSet& scalar_kernels();  // plain C++: every machine, and the reference

}  // namespace s1
