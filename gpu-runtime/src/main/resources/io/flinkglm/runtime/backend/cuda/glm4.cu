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

// One tensor-core step: d += a * b for a 16x16 bf16 tile of W (rows n, columns k), a 16x8 bf16 tile
// of X^T (rows k, columns tokens), float accumulators. Fragment layout as PTX's m16n8k16 with
// g = lane / 4, t = lane % 4: a = {W[g][k0,k1], W[g+8][k0,k1], W[g][k2,k3], W[g+8][k2,k3]},
// b = {X[g][k0,k1], X[g][k2,k3]}, d = {Y[g][2t], Y[g][2t+1], Y[g+8][2t], Y[g+8][2t+1]}, where
// k0..k3 are the four k this lane contributes to the step (see linear_mma for which ones).
__device__ __forceinline__ void mma_bf16(float* d, unsigned int a0, unsigned int a1, unsigned int a2,
                                         unsigned int a3, unsigned int b0, unsigned int b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint4 load_or_zero(const bf16* p, bool valid) {
    return valid ? *(const uint4*) p : make_uint4(0u, 0u, 0u, 0u);
}

// The four tensor-core steps of one 64-wide piece of K: lane (g, t) holds W rows g and g + 8 and
// token g's X at k = 8t .. 8t+7 (in wa0, wb0, x0) and 32 + 8t .. 32+8t+7 (in wa1, wb1, x1).
__device__ __forceinline__ void mma_k64(float* d, uint4 wa0, uint4 wb0, uint4 wa1, uint4 wb1, uint4 x0, uint4 x1) {
    mma_bf16(d, wa0.x, wb0.x, wa0.y, wb0.y, x0.x, x0.y);
    mma_bf16(d, wa0.z, wb0.z, wa0.w, wb0.w, x0.z, x0.w);
    mma_bf16(d, wa1.x, wb1.x, wa1.y, wb1.y, x1.x, x1.y);
    mma_bf16(d, wa1.z, wb1.z, wa1.w, wb1.w, x1.z, x1.w);
}

// Y[t, n] (+)= sum_k W[n, k] X[t, k] on the tensor cores (bf16 products, float accumulation), for the
// short chunks of a step: every decode token.
//
// One warp owns 16 output rows and up to 64 tokens (8 groups of 8), and walks its slice of K in
// pieces of 64. A dot product does not care in which order its terms pair up, so each lane loads
// 16 contiguous bytes of W and of X (no shuffles) and the tensor-core step is simply told that
// those are its k: the same permutation for W and X, fixed by K alone.
//
// The block's warps share X: each piece's tokens are staged once in shared memory (double
// buffered, the next piece loading while this one multiplies), so X is read from L2 once per
// block rather than once per warp; at 32 tokens and more that traffic would otherwise outweigh the
// weights. The next piece's W is loaded before the current one is used, two pieces in flight.
//
// Batch invariance: a token's sum runs over the same pieces in the same order whatever else is in
// the launch. K is cut into `slices` (chosen by the launcher from N, K and the device, never from
// the number of rows) so that narrow matrices still keep every multiprocessor streaming; with more
// than one slice each writes partial[slice][t][n] and linear_reduce adds them in slice order.
// Requires K % 8 == 0. Grid: (ceil(N / 16 / MMA_WARPS), slices, ceil(rows / 64)); block: 32 * MMA_WARPS.
#define MMA_WARPS 8
#define MMA_GROUPS 8
#define MMA_TOKENS (8 * MMA_GROUPS)
// A token's 64 k of X in shared memory, plus 32 of padding: the 8 lanes of a 16-byte load phase
// (2 tokens x 4 lanes) then land on all 32 banks once.
#define MMA_X_STRIDE 96

// Stages X[t0 .. t0 + 8 * groups)[k .. k + 64) in `tile`, zeros outside the matrix.
__device__ __forceinline__ void mma_stage_x(bf16 (*tile)[MMA_X_STRIDE], const bf16* X, int rows, int K, int t0,
                                            int groups, int k) {
    for (int i = threadIdx.x; i < 8 * groups * 8; i += 32 * MMA_WARPS) {
        int r = i >> 3;
        int c = (i & 7) * 8;
        int token = t0 + r;
        *(uint4*) &tile[r][c] = load_or_zero(X + (long long) (token < rows ? token : 0) * K + k + c,
                                             token < rows && k + c < K);
    }
}

extern "C" __global__ void linear_mma(const bf16* W, const bf16* X, float* Y, float* partial, int rows, int N,
                                      int K, int slices, int accumulate) {
    __shared__ __align__(16) bf16 xs[2][MMA_TOKENS][MMA_X_STRIDE];
    int warp = threadIdx.x >> 5;
    int lane = threadIdx.x & 31;
    int g = lane >> 2;
    int t = lane & 3;
    int n0 = (blockIdx.x * MMA_WARPS + warp) * 16;
    bool active = n0 < N; // a warp past N still stages X and meets the barriers
    int pieces = (K + 63) / 64;
    int p0 = (int) ((long long) blockIdx.y * pieces / slices);
    int p1 = (int) ((long long) (blockIdx.y + 1) * pieces / slices);
    int t0 = blockIdx.z * MMA_TOKENS;
    int groups = min(MMA_GROUPS, (rows - t0 + 7) / 8);

    bool rowA = active && n0 + g < N;
    bool rowB = active && n0 + g + 8 < N;
    const bf16* wA = W + (long long) (rowA ? n0 + g : 0) * K;
    const bf16* wB = W + (long long) (rowB ? n0 + g + 8 : 0) * K;
    float acc[MMA_GROUPS][4];
#pragma unroll
    for (int j = 0; j < MMA_GROUPS; j++) {
        acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    }

    int k = p0 * 64 + 8 * t;
    uint4 wa0 = load_or_zero(wA + k, rowA && k < K);
    uint4 wb0 = load_or_zero(wB + k, rowB && k < K);
    uint4 wa1 = load_or_zero(wA + k + 32, rowA && k + 32 < K);
    uint4 wb1 = load_or_zero(wB + k + 32, rowB && k + 32 < K);
    if (p0 < p1) {
        mma_stage_x(xs[0], X, rows, K, t0, groups, p0 * 64);
    }
    __syncthreads();
    for (int p = p0; p < p1; p++) {
        int buffer = (p - p0) & 1;
        bool more = p + 1 < p1;
        if (more) {
            mma_stage_x(xs[buffer ^ 1], X, rows, K, t0, groups, (p + 1) * 64);
        }
        int kn = k + 64;
        uint4 na0 = load_or_zero(wA + kn, more && rowA && kn < K);
        uint4 nb0 = load_or_zero(wB + kn, more && rowB && kn < K);
        uint4 na1 = load_or_zero(wA + kn + 32, more && rowA && kn + 32 < K);
        uint4 nb1 = load_or_zero(wB + kn + 32, more && rowB && kn + 32 < K);
        if (active) {
#pragma unroll
            for (int j = 0; j < MMA_GROUPS; j++) {
                if (j < groups) { // the same for every lane of the warp
                    uint4 x0 = *(const uint4*) &xs[buffer][8 * j + g][8 * t];
                    uint4 x1 = *(const uint4*) &xs[buffer][8 * j + g][32 + 8 * t];
                    mma_k64(acc[j], wa0, wb0, wa1, wb1, x0, x1);
                }
            }
        }
        __syncthreads(); // this buffer is staged again two pieces on
        wa0 = na0;
        wb0 = nb0;
        wa1 = na1;
        wb1 = nb1;
        k = kn;
    }
    if (!active) {
        return;
    }

    bool sliced = slices > 1;
    float* out = sliced ? partial + (long long) blockIdx.y * rows * N : Y;
#pragma unroll
    for (int j = 0; j < MMA_GROUPS; j++) {
        if (j < groups) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int token = t0 + 8 * j + 2 * t + (e & 1);
                int n = n0 + g + (e >> 1) * 8;
                if (token < rows && n < N) {
                    float* y = out + (long long) token * N + n;
                    *y = (accumulate && !sliced) ? *y + acc[j][e] : acc[j][e];
                }
            }
        }
    }
}

// Y[t, n] (+)= partial[0][t][n] + partial[1][t][n] + ..., in slice order. Grid-stride over rows * N.
extern "C" __global__ void linear_reduce(const float* partial, float* Y, int rows, int N, int slices,
                                         int accumulate) {
    long long total = (long long) rows * N;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total;
         i += (long long) gridDim.x * blockDim.x) {
        float sum = partial[i];
        for (int s = 1; s < slices; s++) {
            sum += partial[(long long) s * total + i];
        }
        Y[i] = accumulate ? Y[i] + sum : sum;
    }
}

// Y[t, n] (+)= sum_k W[n, k] X[t, k] for any K (linear_mma needs K % 8 == 0): one warp per output
// row, lane l sums k = l, l + 32, ... in order, then the lanes in a fixed butterfly.
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
// Warp w visits the positions w*U .. w*U+U-1, then those ATTN_WARPS*U further on, and so on (U =
// ATTN_UNROLL): the U keys and values of a visit are loaded together, so a warp keeps several rows
// in flight instead of waiting on one at a time. Each warp keeps its own max, sum and output, and
// the warps are merged in index order. The partition depends only on the position count, so the
// result is the same whether the row is decoded alone or next to others. Head dim at most 256.
// Grid: (rows, heads); block: 32 * ATTN_WARPS threads.
#define ATTN_WARPS 16
#define ATTN_UNROLL 4
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
    for (int p0 = warp * ATTN_UNROLL; p0 < count; p0 += ATTN_WARPS * ATTN_UNROLL) {
        const float* k[ATTN_UNROLL];
        float score[ATTN_UNROLL];
#pragma unroll
        for (int u = 0; u < ATTN_UNROLL; u++) {
            int p = min(p0 + u, count - 1); // past the end: a real row, weighted 0 below
            k[u] = pool + (((long long) table[p / blockSize] * layers + layer) * 2) * blockSize * kvDim
                    + (long long) (p % blockSize) * kvDim + kvHead * headDim;
            float dot = 0.0f;
#pragma unroll
            for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
                int i = lane + 32 * d;
                if (d < dims && i < headDim) {
                    dot = fmaf(qv[d], k[u][i], dot);
                }
            }
            score[u] = dot;
        }
        float next = max;
#pragma unroll
        for (int u = 0; u < ATTN_UNROLL; u++) {
            score[u] = warp_sum(score[u]) * scale;
            if (p0 + u < count) {
                next = fmaxf(next, score[u]);
            }
        }
        float correction = expf(max - next); // max = -inf on a warp's first visit: 0, acc and sum are 0
        sum *= correction;
#pragma unroll
        for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
            acc[d] *= correction;
        }
#pragma unroll
        for (int u = 0; u < ATTN_UNROLL; u++) {
            float weight = p0 + u < count ? expf(score[u] - next) : 0.0f;
            sum += weight;
            const float* v = k[u] + (long long) blockSize * kvDim;
#pragma unroll
            for (int d = 0; d < ATTN_MAX_DIMS_PER_LANE; d++) {
                int i = lane + 32 * d;
                if (d < dims && i < headDim) {
                    acc[d] = fmaf(weight, v[i], acc[d]);
                }
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

// Split attention ("flash decoding"): the positions of a row are cut into splits, each split is
// one block for one KV head and all the query heads that share it (GQA), and attention_merge
// combines the splits. K and V come through shared memory a tile of FA_TILE positions at a time,
// so a KV row is read once per group of query heads instead of once per head.
//
// Batch invariance: the split size is a function of the row's position count alone
// (fa_split_size), tiles run in order inside a split, every sum inside a tile has a fixed order,
// and the merge adds the splits in order. Needs head_dim <= FA_MAX_HEAD_DIM, head_dim % 4 == 0 and
// (heads / kvHeads) <= FA_MAX_GROUP; the launcher falls back to `attention` otherwise.
#define FA_TILE 32
#define FA_THREADS 256
#define FA_MAX_HEAD_DIM 128
#define FA_MAX_GROUP 16
#define FA_SPLIT_MIN 128
#define FA_MAX_SPLITS 64

// Positions per split for a row that attends to `count` positions. CudaBackend.splitSize mirrors it.
__device__ __forceinline__ int fa_split_size(int count) {
    int size = FA_SPLIT_MIN;
    while ((count + size - 1) / size > FA_MAX_SPLITS) {
        size *= 2;
    }
    return size;
}

// partO [rows][heads][splitStride][headDim]: the split's output, not yet divided by its sum;
// partML [rows][heads][splitStride][2]: the split's max score and sum of exp(score - max).
// Grid: (rows, kvHeads, splitStride); block: FA_THREADS.
extern "C" __global__ void attention_split(const float* qkv, const float* pool, float* partO, float* partML,
                                           const int* positions, const int* tableStart, const int* tables,
                                           int layer, int layers, int blockSize, int heads, int kvHeads,
                                           int headDim, int qkvDim, float scale, int splitStride) {
    __shared__ float sq[FA_MAX_GROUP * FA_MAX_HEAD_DIM];
    __shared__ float sk[FA_TILE][FA_MAX_HEAD_DIM + 1]; // +1: lanes reading different rows hit different banks
    __shared__ float sv[FA_TILE][FA_MAX_HEAD_DIM + 1];
    __shared__ float sp[FA_MAX_GROUP][FA_TILE];         // scores, then their exponentials
    __shared__ float sMax[FA_MAX_GROUP];
    __shared__ float sSum[FA_MAX_GROUP];
    __shared__ float sCorrection[FA_MAX_GROUP];
    int row = blockIdx.x;
    int kvHead = blockIdx.y;
    int split = blockIdx.z;
    int count = positions[row] + 1;
    int size = fa_split_size(count);
    int begin = split * size;
    if (begin >= count) {
        return; // this row has fewer splits than the step's longest
    }
    int end = min(count, begin + size);
    int tid = threadIdx.x;
    int lane = tid & 31;
    int warp = tid >> 5;
    int group = heads / kvHeads;
    int kvDim = kvHeads * headDim;
    int outputs = group * headDim;
    int vectors = headDim / 4;
    const int* table = tables + tableStart[row];
    const float* q = qkv + (long long) row * qkvDim + (long long) kvHead * group * headDim;
    for (int i = tid; i < outputs; i += FA_THREADS) {
        sq[i] = q[i];
    }
    if (tid < group) {
        sMax[tid] = __int_as_float(0xff800000); // -inf
        sSum[tid] = 0.0f;
    }
    float acc[FA_MAX_GROUP * FA_MAX_HEAD_DIM / FA_THREADS];
#pragma unroll
    for (int j = 0; j < FA_MAX_GROUP * FA_MAX_HEAD_DIM / FA_THREADS; j++) {
        acc[j] = 0.0f;
    }
    __syncthreads();

    for (int t0 = begin; t0 < end; t0 += FA_TILE) {
        for (int f = tid; f < FA_TILE * vectors; f += FA_THREADS) {
            int i = f / vectors;
            int c = (f % vectors) * 4;
            int p = t0 + i;
            float4 k4 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            float4 v4 = k4;
            if (p < end) {
                const float* k = pool + (((long long) table[p / blockSize] * layers + layer) * 2) * blockSize * kvDim
                        + (long long) (p % blockSize) * kvDim + kvHead * headDim + c;
                k4 = *(const float4*) k;
                v4 = *(const float4*) (k + (long long) blockSize * kvDim);
            }
            sk[i][c] = k4.x; sk[i][c + 1] = k4.y; sk[i][c + 2] = k4.z; sk[i][c + 3] = k4.w;
            sv[i][c] = v4.x; sv[i][c + 1] = v4.y; sv[i][c + 2] = v4.z; sv[i][c + 3] = v4.w;
        }
        __syncthreads();
        for (int pair = tid; pair < group * FA_TILE; pair += FA_THREADS) {
            int g = pair / FA_TILE;
            int i = pair % FA_TILE;
            const float* qg = sq + g * headDim;
            float dot = 0.0f;
            for (int d = 0; d < headDim; d++) {
                dot = fmaf(qg[d], sk[i][d], dot);
            }
            sp[g][i] = t0 + i < end ? dot * scale : __int_as_float(0xff800000);
        }
        __syncthreads();
        for (int g = warp; g < group; g += FA_THREADS / 32) { // FA_TILE == 32: a lane per position
            float score = sp[g][lane];
            float previous = sMax[g];
            float next = fmaxf(previous, warp_max(score)); // finite: the tile's first position is real
            float e = expf(score - next);
            float total = warp_sum(e);
            sp[g][lane] = e;
            if (lane == 0) {
                float correction = expf(previous - next); // 0 on the first tile
                sCorrection[g] = correction;
                sSum[g] = sSum[g] * correction + total;
                sMax[g] = next;
            }
        }
        __syncthreads();
#pragma unroll
        for (int j = 0; j < FA_MAX_GROUP * FA_MAX_HEAD_DIM / FA_THREADS; j++) {
            int o = tid + j * FA_THREADS;
            if (o < outputs) {
                int g = o / headDim;
                int d = o % headDim;
                float a = acc[j] * sCorrection[g];
                for (int i = 0; i < FA_TILE; i++) {
                    a = fmaf(sp[g][i], sv[i][d], a);
                }
                acc[j] = a;
            }
        }
        __syncthreads(); // the next tile overwrites sk, sv and sp
    }

#pragma unroll
    for (int j = 0; j < FA_MAX_GROUP * FA_MAX_HEAD_DIM / FA_THREADS; j++) {
        int o = tid + j * FA_THREADS;
        if (o < outputs) {
            int head = kvHead * group + o / headDim;
            partO[(((long long) row * heads + head) * splitStride + split) * headDim + o % headDim] = acc[j];
        }
    }
    if (tid < group) {
        long long at = (((long long) row * heads + kvHead * group + tid) * splitStride + split) * 2;
        partML[at] = sMax[tid];
        partML[at + 1] = sSum[tid];
    }
}

// out[row, head] = the splits of attention_split combined in split order. Grid: (rows, heads);
// block: headDim threads.
extern "C" __global__ void attention_merge(const float* partO, const float* partML, float* out,
                                           const int* positions, int heads, int headDim, int splitStride) {
    int row = blockIdx.x;
    int head = blockIdx.y;
    int d = threadIdx.x;
    int count = positions[row] + 1;
    int size = fa_split_size(count);
    int splits = (count + size - 1) / size;
    long long first = ((long long) row * heads + head) * splitStride;
    float max = __int_as_float(0xff800000);
    for (int s = 0; s < splits; s++) {
        max = fmaxf(max, partML[(first + s) * 2]);
    }
    float sum = 0.0f;
    float o = 0.0f;
    for (int s = 0; s < splits; s++) {
        float f = expf(partML[(first + s) * 2] - max);
        sum = fmaf(partML[(first + s) * 2 + 1], f, sum);
        o = fmaf(partO[(first + s) * headDim + d], f, o);
    }
    out[((long long) row * heads + head) * headDim + d] = o / sum;
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
