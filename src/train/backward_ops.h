#pragma once
// The backward of each per-row operation of tensor/ops.h, one function per
// forward op (llm.c style): given what the forward saw and the gradient of its
// output, accumulate the gradients of its inputs and weights. Matrix products
// go through tensor/matmul.h (see train/transformer.cpp).
#include <cstdint>

#include "tensor/ops.h"

namespace s1::train {

// out = rmsnorm(x) * weight (ops::rmsnorm). dx += d/dx, dweight += d/dweight
// (dweight may be null: a frozen weight).
void rmsnorm_backward(const float* x, const float* weight, const float* dout, float* dx, float* dweight,
                      int64_t n, float eps);

// out = silu(gate) * up (ops::swiglu). Writes dgate and dup (may alias nothing).
void swiglu_backward(const float* gate, const float* up, const float* dout, float* dgate, float* dup, int64_t n);

// x' = R(pos) x (ops::Rope::apply). A rotation's transpose is its inverse, the
// rotation to -pos: dx = R(-pos) dx', done in place.
void rope_backward(const ops::Rope& rope, float* dx, int n_heads, int head_dim, int64_t pos);

// Softmax cross-entropy of one row of logits against `target`. Returns
// -log p[target] and writes dlogits = (softmax(logits) - onehot) * scale.
float cross_entropy(const float* logits, int64_t n_vocab, int32_t target, float scale, float* dlogits);

// Σ a[i] b[i] and y += alpha x over n floats (vectorized; the attention
// backward's inner loops).
float dot(const float* a, const float* b, int64_t n);
void axpy(float alpha, const float* x, float* y, int64_t n);

// dst[c * rows + r] = src[r * cols + c] for the source rows r in [row_begin, row_end).
void transpose(const float* src, int64_t rows, int64_t cols, float* dst, int64_t row_begin, int64_t row_end);

}  // namespace s1::train
