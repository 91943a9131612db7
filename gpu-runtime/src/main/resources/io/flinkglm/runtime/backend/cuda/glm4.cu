// GLM-4 forward-pass kernels for the CUDA backend (CudaBackend.java launches them by name).
//
// Compiled at start-up with NVRTC for the device's own architecture and cached on disk (see
// KernelModule.java); CI compiles this file with nvcc so a kernel that does not compile fails the
// build. It therefore includes no headers: bf16 is carried as its raw 16 bits (unsigned short) and
// widened by a shift, exactly as the CPU kernels do.
//
// Layouts (row-major, one row per token of the step):
//   x        float  [rows, hidden]           residual stream
//   xb       bf16   [rows, K]                input of a projection
//   W        bf16   [N, K]                   nn.Linear weight (out, in)
//   qkv      float  [rows, qDim + 2 kvDim]   q | k | v
//   KV pool  float  [blocks][layers][2][blockSize][kvDim]   one block is contiguous, K then V
//
// Batch invariance: every reduction below runs in an order fixed by the row's own data and the
// model's shape (never by the number of rows in the launch), so a sequence's numbers do not depend
// on what else is in the step.

typedef unsigned short bf16;

__device__ __forceinline__ float bf16_to_f32(bf16 b) {
    return __uint_as_float(((unsigned int) b) << 16);
}

// Round to nearest even, NaN kept quiet: the same rounding as torch's float -> bfloat16.
__device__ __forceinline__ bf16 f32_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (bf16) ((u >> 16) | 0x40u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16) (u >> 16);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    }
    return v;
}

// Sum over a block of up to 1024 threads in a fixed tree; every thread gets the result.
__device__ float block_sum(float v, float* scratch /* [32] */) {
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    float total = lane < warps ? scratch[lane] : 0.0f;
    total = warp_sum(total);
    __syncthreads();
    return total;
}

// x[row] = embedding[token[row]], widened to float. Grid: rows; block: any.
extern "C" __global__ void embed(const bf16* table, const int* tokens, float* x, int hidden) {
    int row = blockIdx.x;
    const bf16* src = table + (long long) tokens[row] * hidden;
    float* dst = x + (long long) row * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        dst[i] = bf16_to_f32(src[i]);
    }
}

// out[r] = bf16(w * x[src] / sqrt(mean(x[src]^2) + eps)), src = rows ? rows[r] : r.
// Grid: output rows; block: 256 threads.
extern "C" __global__ void rmsnorm(const float* x, const int* rows, const float* weight, bf16* out,
                                   int hidden, float eps) {
    __shared__ float scratch[32];
    int r = blockIdx.x;
    int src = rows ? rows[r] : r;
    const float* in = x + (long long) src * hidden;
    float sumSq = 0.0f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        sumSq = fmaf(in[i], in[i], sumSq);
    }
    float total = block_sum(sumSq, scratch);
    float inv = rsqrtf(total / hidden + eps);
    bf16* o = out + (long long) r * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        o[i] = f32_to_bf16(weight[i] * (in[i] * inv));
    }
}

// Y[t, n] (+)= sum_k W[n, k] X[t, k] for t < rows: one warp per output row n, tokens 8 at a time.
// Lane l sums k = 8l + 256i .. +7 in order, then the warp adds its lanes in a fixed butterfly:
// the order depends on K alone, so a token's result is the same alone or among any others.
// Requires K % 8 == 0 (16-byte loads); the launcher falls back to linear_rows_any otherwise.
// Grid: ceil(N / warpsPerBlock); block: 32 * warpsPerBlock.
extern "C" __global__ void linear_rows(const bf16* W, const bf16* X, float* Y, int rows, int N, int K,
                                       int accumulate) {
    int n = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (n >= N) {
        return;
    }
    const bf16* w = W + (long long) n * K;
    for (int t0 = 0; t0 < rows; t0 += 8) {
        int tokens = min(8, rows - t0);
        float acc[8];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            acc[j] = 0.0f;
        }
        for (int k = lane * 8; k < K; k += 256) {
            uint4 wv = *(const uint4*) (w + k);
            float wf[8];
            unsigned int wp[4] = {wv.x, wv.y, wv.z, wv.w};
#pragma unroll
            for (int e = 0; e < 4; e++) {
                wf[2 * e] = __uint_as_float(wp[e] << 16);
                wf[2 * e + 1] = __uint_as_float(wp[e] & 0xffff0000u);
            }
#pragma unroll
            for (int j = 0; j < 8; j++) {
                if (j < tokens) {
                    uint4 xv = *(const uint4*) (X + (long long) (t0 + j) * K + k);
                    unsigned int xp[4] = {xv.x, xv.y, xv.z, xv.w};
                    float a = acc[j];
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        a = fmaf(wf[2 * e], __uint_as_float(xp[e] << 16), a);
                        a = fmaf(wf[2 * e + 1], __uint_as_float(xp[e] & 0xffff0000u), a);
                    }
                    acc[j] = a;
                }
            }
        }
#pragma unroll
        for (int j = 0; j < 8; j++) {
            float sum = warp_sum(acc[j]);
            if (lane == 0 && j < tokens) {
                float* y = Y + (long long) (t0 + j) * N + n;
                *y = accumulate ? *y + sum : sum;
            }
        }
    }
}

// linear_rows for any K (no vector loads): lane l sums k = l, l + 32, ... in order.
extern "C" __global__ void linear_rows_any(const bf16* W, const bf16* X, float* Y, int rows, int N, int K,
                                           int accumulate) {
    int n = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int lane = threadIdx.x & 31;
    if (n >= N) {
        return;
    }
    const bf16* w = W + (long long) n * K;
    for (int t = 0; t < rows; t++) {
        const bf16* xr = X + (long long) t * K;
        float acc = 0.0f;
        for (int k = lane; k < K; k += 32) {
            acc = fmaf(bf16_to_f32(w[k]), bf16_to_f32(xr[k]), acc);
        }
        float sum = warp_sum(acc);
        if (lane == 0) {
            float* y = Y + (long long) t * N + n;
            *y = accumulate ? *y + sum : sum;
        }
    }
}

// qkv[row] += bias, then partial adjacent-pair RoPE on the q and k heads of the row:
// for i < rotaryDim/2, a = position * invFreq[i], (x0, x1) -> (x0 cos a - x1 sin a, x1 cos a + x0 sin a).
// cos and sin are taken in double and rounded, as the CPU backend does. Grid: rows; block: 256.
extern "C" __global__ void bias_rope(float* qkv, const float* bias, const int* positions, const double* invFreq,
                                     int qkvDim, int ropeHeads, int headDim, int rotaryDim) {
    int row = blockIdx.x;
    float* v = qkv + (long long) row * qkvDim;
    for (int i = threadIdx.x; i < qkvDim; i += blockDim.x) {
        v[i] += bias[i];
    }
    __syncthreads();
    int pairs = rotaryDim / 2;
    double position = (double) positions[row];
    for (int item = threadIdx.x; item < ropeHeads * pairs; item += blockDim.x) {
        int head = item / pairs;
        int i = item % pairs;
        double a = position * invFreq[i];
        float c = (float) cos(a);
        float s = (float) sin(a);
        int j = head * headDim + 2 * i;
        float x0 = v[j];
        float x1 = v[j + 1];
        v[j] = x0 * c - x1 * s;
        v[j + 1] = x1 * c + x0 * s;
    }
}

// Writes each row's k and v into its KV slot. Grid: rows; block: any.
extern "C" __global__ void kv_store(const float* qkv, float* pool, const int* slotBlock, const int* slotIndex,
                                    int layer, int layers, int blockSize, int qDim, int kvDim, int qkvDim) {
    int row = blockIdx.x;
    const float* k = qkv + (long long) row * qkvDim + qDim;
    long long base = (((long long) slotBlock[row] * layers + layer) * 2) * blockSize * kvDim;
    float* kd = pool + base + (long long) slotIndex[row] * kvDim;
    float* vd = kd + (long long) blockSize * kvDim;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        kd[i] = k[i];
        vd[i] = k[kvDim + i];
    }
}

// Causal attention over paged KV for one (row, query head) per block, online softmax.
// Warp w visits positions w, w + W, ... in order keeping its own max, sum and output; the warps
// are then merged in index order. The partition depends only on the position count, so the result
// is the same whether the row is decoded alone or next to others. Head dim at most 256.
// Grid: (rows, heads); block: 128 threads (4 warps).
#define ATTN_WARPS 4
#define ATTN_MAX_DIMS_PER_LANE 8
extern "C" __global__ void attention(const float* qkv, const float* pool, float* out, const int* positions,
                                     const int* tableStart, const int* tables, int layer, int layers,
                                     int blockSize, int heads, int kvHeads, int headDim, int qkvDim, float scale) {
    __shared__ float wMax[ATTN_WARPS];
    __shared__ float wSum[ATTN_WARPS];
    __shared__ float wOut[ATTN_WARPS][32 * ATTN_MAX_DIMS_PER_LANE];
    int row = blockIdx.x;
    int head = blockIdx.y;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    int kvHead = head / (heads / kvHeads);
    int kvDim = kvHeads * headDim;
    int dims = (headDim + 31) / 32;
    const float* q = qkv + (long long) row * qkvDim + head * headDim;
    const int* table = tables + tableStart[row];
    int count = positions[row] + 1;

    float qv[ATTN_MAX_DIMS_PER_LANE];
    float acc[ATTN_MAX_DIMS_PER_LANE];
#pragma unroll
    for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
        int i = lane + 32 * d;
        qv[d] = (d < dims && i < headDim) ? q[i] : 0.0f;
        acc[d] = 0.0f;
    }
    float max = __int_as_float(0xff800000); // -inf
    float sum = 0.0f;
    for (int p = warp; p < count; p += ATTN_WARPS) {
        long long base = (((long long) table[p / blockSize] * layers + layer) * 2) * blockSize * kvDim
                + (long long) (p % blockSize) * kvDim + kvHead * headDim;
        const float* k = pool + base;
        const float* v = k + (long long) blockSize * kvDim;
        float dot = 0.0f;
#pragma unroll
        for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
            int i = lane + 32 * d;
            if (d < dims && i < headDim) {
                dot = fmaf(qv[d], k[i], dot);
            }
        }
        float score = warp_sum(dot) * scale;
        float next = fmaxf(max, score);
        float correction = expf(max - next);
        float weight = expf(score - next);
        sum = sum * correction + weight;
#pragma unroll
        for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
            int i = lane + 32 * d;
            if (d < dims && i < headDim) {
                acc[d] = acc[d] * correction + weight * v[i];
            }
        }
        max = next;
    }
    if (lane == 0) {
        wMax[warp] = max;
        wSum[warp] = sum;
    }
#pragma unroll
    for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
        wOut[warp][lane + 32 * d] = acc[d];
    }
    __syncthreads();
    if (warp == 0) {
        float total = __int_as_float(0xff800000);
        for (int w = 0; w < ATTN_WARPS; w++) {
            total = fmaxf(total, wMax[w]);
        }
        float denominator = 0.0f;
        float merged[ATTN_MAX_DIMS_PER_LANE];
#pragma unroll
        for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
            merged[d] = 0.0f;
        }
        for (int w = 0; w < ATTN_WARPS; w++) {
            if (wSum[w] == 0.0f) {
                continue; // this warp saw no position
            }
            float f = expf(wMax[w] - total);
            denominator += wSum[w] * f;
#pragma unroll
            for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
                merged[d] += wOut[w][lane + 32 * d] * f;
            }
        }
        float* o = out + (long long) row * heads * headDim + head * headDim;
#pragma unroll
        for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
            int i = lane + 32 * d;
            if (d < dims && i < headDim) {
                o[i] = merged[d] / denominator;
            }
        }
    }
}

// act[row] = bf16(up * silu(gate)), gate being the first half of the row. Grid: rows; block: 256.
extern "C" __global__ void swiglu(const float* gateUp, bf16* act, int inter) {
    int row = blockIdx.x;
    const float* g = gateUp + (long long) row * 2 * inter;
    bf16* a = act + (long long) row * inter;
    for (int i = threadIdx.x; i < inter; i += blockDim.x) {
        float gate = g[i];
        a[i] = f32_to_bf16(g[inter + i] * (gate / (1.0f + expf(-gate))));
    }
}

// y = bf16(x), n elements. Grid-stride.
extern "C" __global__ void to_bf16(const float* x, bf16* y, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        y[i] = f32_to_bf16(x[i]);
    }
}
