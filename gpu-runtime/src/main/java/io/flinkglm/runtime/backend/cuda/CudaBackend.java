package io.flinkglm.runtime.backend.cuda;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.BackendDiagnostics;
import io.flinkglm.runtime.backend.HostSampler;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.RowResult;
import io.flinkglm.runtime.backend.RowSampling;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.StepPlan;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.Matrix;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.ModelWeights;

import org.apache.flink.annotation.Internal;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.ShortPointer;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The GLM-4 forward pass on an NVIDIA GPU, the same network as the CPU backend: weights resident
 * in bf16, the residual stream and KV in float32, kernels from {@code glm4.cu} (NVRTC-compiled for
 * the device at start-up) and cuBLAS for the projections of long prompt chunks.
 *
 * <p>Weights are uploaded as the model holds them, row-major.
 *
 * <p>Projections choose their kernel per chunk, never per step, so a sequence's numbers do not
 * depend on its neighbours: chunks shorter than {@link #GEMM_MIN_TOKENS} (every decode) go through
 * {@code linear_mma} (tensor cores), whose reduction order is fixed by the matrix's shape alone;
 * longer prompt chunks go through a cuBLAS bf16 GEMM (tensor cores) over that chunk's rows only.
 * A prompt therefore gives the same KV for the same chunking; the engine's chunking depends on its
 * token budget. Attention splits a row's positions by the row's own length.
 *
 * <p>{@link #step} samples on the host for now: {@link #forwardLogits} copies each chunk's last
 * logits back and {@link HostSampler} draws from them, as on the CPU. Not yet here (gpu/NOTES.md
 * has the H200 figures behind this order and the plan): sampling on the device behind {@code step},
 * a tiled prefill attention kernel, CUDA graphs for the decode step, bf16 KV.
 *
 * <pre>{@code
 * try (Backend gpu = new CudaBackend(model); KvCache kv = gpu.newKvCache(4096, 16)) {
 *     List<RowResult> drawn = gpu.step(kv, chunks, rows);
 *     float[][][] logits = gpu.forwardLogits(otherKv, chunks); // the explicit path, for checks
 * }
 * }</pre>
 */
@Internal
public final class CudaBackend implements Backend, BackendDiagnostics {
    /** Chunks of at least this many tokens use cuBLAS; shorter ones the batch-invariant kernel. */
    static final int GEMM_MIN_TOKENS = 16;
    private static final int LINEAR_WARPS_PER_BLOCK = 8;
    // linear_mma's shape, as defined in glm4.cu: warps per block, output rows per warp, tokens per
    // launch row of the grid, K per piece.
    static final int MMA_WARPS = 8;
    static final int MMA_ROWS = 16;
    static final int MMA_TOKENS = 64;
    static final int MMA_PIECE = 64;
    /**
     * Warps a projection should keep busy per multiprocessor: enough loads in flight to stream the
     * weights at full bandwidth (two blocks, 16 of linear_mma's warps, fit on one at a time).
     */
    private static final int MMA_WARPS_PER_SM = 24;
    static final int ATTENTION_THREADS = 32 * 16; // ATTN_WARPS in glm4.cu
    // attention_split's limits and shape, as defined in glm4.cu (FA_*); CudaKernelSourcesTest
    // checks these and the MMA_* and ATTN_* mirrors above against the source.
    static final int SPLIT_THREADS = 256;
    static final int SPLIT_MAX_HEAD_DIM = 128;
    static final int SPLIT_MAX_GROUP = 16;
    static final int SPLIT_MIN = 128;
    static final int SPLIT_MAX = 64;
    private static final int UPLOAD_CHUNK = 1 << 24; // bf16 elements per host-to-device copy (32 MB)

    private final Glm4Model model;
    private final ModelConfig c;
    private final Cuda.Device device;
    private final KernelModule kernels;
    private final cublasContext blas;
    private final List<Long> allocations = new ArrayList<>();
    private final DeviceMatrix embed;
    private final DeviceMatrix lmHead;
    private final long finalNorm;
    private final List<DeviceLayer> layers = new ArrayList<>();
    private final long invFreq;
    private final long weightBytes;
    private final Scratch scratch = new Scratch();
    private final boolean splitAttention;
    /** Floats of linear_mma partial sums per token: the most any sliced matrix needs. */
    private long partialFloatsPerRow;

    /**
     * A bf16 weight on the device; {@code slices} is how many pieces linear_mma cuts K into, fixed
     * per matrix (never per step) so that the reduction order does not depend on the batch.
     */
    private record DeviceMatrix(long address, int rows, int cols, int slices) {}

    private record DeviceLayer(long inputNorm, DeviceMatrix qkv, long qkvBias, DeviceMatrix o, long postNorm,
                               DeviceMatrix gateUp, DeviceMatrix down) {}

    public CudaBackend(Glm4Model model) {
        this(model, 0);
    }

    public CudaBackend(Glm4Model model, int deviceOrdinal) {
        this.model = model;
        this.c = model.config();
        if (c.headDim() > 256 || c.numHeads() % c.numKvHeads() != 0) {
            throw new IllegalArgumentException("backend cuda supports head_dim <= 256 and heads divisible by "
                    + "kv heads; this model has head_dim " + c.headDim() + ", " + c.numHeads() + "/" + c.numKvHeads());
        }
        this.device = Cuda.open(deviceOrdinal);
        KernelModule module = null;
        cublasContext handle = new cublasContext();
        try {
            module = KernelModule.load("glm4.cu", device);
            Cuda.checkBlas(cublas.cublasCreate_v2(handle), "cublasCreate");
        } catch (RuntimeException e) {
            if (module != null) {
                module.close();
            }
            Cuda.release(device);
            throw e;
        }
        this.kernels = module;
        this.blas = handle;
        int group = c.numHeads() / c.numKvHeads();
        this.splitAttention = c.headDim() <= SPLIT_MAX_HEAD_DIM && c.headDim() % 4 == 0 && group <= SPLIT_MAX_GROUP;

        // A failed start (most often: the weights do not fit in device memory) frees what it took,
        // so "auto" can fall back to the CPU with the GPU left as it was.
        ModelWeights w = model.weights();
        Map<Matrix, DeviceMatrix> uploaded = new IdentityHashMap<>(); // tied embeddings upload once
        try {
            this.embed = upload(w.embed(), uploaded);
            this.lmHead = upload(w.lmHead(), uploaded);
            this.finalNorm = upload(w.finalNorm());
            for (ModelWeights.Layer l : w.layers()) {
                layers.add(new DeviceLayer(upload(l.inputNorm()), upload(l.qkv(), uploaded), upload(l.qkvBias()),
                        upload(l.o(), uploaded), upload(l.postNorm()), upload(l.gateUp(), uploaded),
                        upload(l.down(), uploaded)));
            }
            double[] freq = new double[c.rotaryDim() / 2];
            for (int i = 0; i < freq.length; i++) {
                freq[i] = Math.pow(c.ropeTheta(), -2.0 * i / c.rotaryDim());
            }
            try (DoublePointer host = new DoublePointer(freq)) {
                this.invFreq = track(Cuda.alloc(Math.max(1, freq.length) * 8L));
                Cuda.toDevice(invFreq, host, freq.length * 8L);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        long bytes = 0;
        for (Matrix m : uploaded.keySet()) {
            bytes += 2L * m.rows * m.cols;
        }
        this.weightBytes = bytes;
    }

    @Override
    public String description() {
        return String.format("cuda (%s, %s, %.2f GB of bf16 weights)", device.name(), device.arch(), weightBytes / 1e9);
    }

    @Override
    public Glm4Model model() {
        return model;
    }

    @Override
    public Optional<BackendDiagnostics> diagnostics() {
        return Optional.of(this);
    }

    @Override
    public String deviceName() {
        return device.name();
    }

    @Override
    public synchronized KvCache newKvCache(int numBlocks, int blockSize) {
        return new CudaKvCache(device, c, numBlocks, blockSize);
    }

    /** KV bytes that fit in {@code fraction} of the device memory still free after the weights. */
    public synchronized long kvBytesForMemoryFraction(double fraction) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("memory fraction must be in (0, 1], got " + fraction);
        }
        device.bind();
        return (long) (Cuda.memoryInfo()[0] * fraction);
    }

    @Override
    public String memoryBandwidthKind() {
        return "device memory copy (read + write)";
    }

    /** Device-to-device copy bandwidth in GB/s (bytes read plus written), the bench's HBM reference. */
    @Override
    public synchronized double measureMemoryBandwidthGbs(long bytes, int repeats) {
        device.bind();
        long a = Cuda.alloc(bytes);
        long b = Cuda.alloc(bytes);
        try {
            Cuda.deviceToDevice(b, a, bytes); // first touch outside the clock
            Cuda.synchronize();
            long start = System.nanoTime();
            for (int i = 0; i < repeats; i++) {
                Cuda.deviceToDevice(b, a, bytes);
            }
            Cuda.synchronize();
            return 2.0 * bytes * repeats / ((System.nanoTime() - start) / 1e9) / 1e9;
        } finally {
            Cuda.free(a);
            Cuda.free(b);
        }
    }

    /**
     * The cuBLAS bf16 GEMM rate in TFLOP/s for {@code [m, k] x [k, n]} (float32 out, as the
     * projections run), the bench's reference for prefill. Operands are left uninitialised.
     */
    @Override
    public synchronized double measureMatmulTflops(int m, int n, int k, int repeats) {
        device.bind();
        long a = Cuda.alloc(2L * n * k);
        long b = Cuda.alloc(2L * m * k);
        long out = Cuda.alloc(4L * m * n);
        try (FloatPointer one = new FloatPointer(1f); FloatPointer zero = new FloatPointer(0f)) {
            long start = 0;
            for (int i = -1; i < repeats; i++) { // the first call, outside the clock, picks the algorithm
                if (i == 0) {
                    Cuda.synchronize();
                    start = System.nanoTime();
                }
                Cuda.checkBlas(cublas.cublasGemmEx(blas, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, n, m, k,
                        one, Cuda.pointer(a), cudart.CUDA_R_16BF, k, Cuda.pointer(b), cudart.CUDA_R_16BF, k,
                        zero, Cuda.pointer(out), cudart.CUDA_R_32F, n,
                        cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
            }
            Cuda.synchronize();
            return 2.0 * m * n * k * repeats / ((System.nanoTime() - start) / 1e9) / 1e12;
        } finally {
            Cuda.free(a);
            Cuda.free(b);
            Cuda.free(out);
        }
    }

    @Override
    public synchronized float[][][] forwardLogits(KvCache kvCache, List<SequenceChunk> chunks) {
        CudaKvCache kv = (CudaKvCache) kvCache;
        device.bind();
        StepPlan plan = new StepPlan(chunks, kv.blockSize(), c, GEMM_MIN_TOKENS);
        scratch.ensure(plan);
        scratch.upload(plan);

        int rows = plan.rows;
        int h = c.hiddenSize();
        int qkvDim = c.qDim() + 2 * c.kvDim();
        int inter = c.intermediateSize();
        float eps = (float) c.rmsNormEps();
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));

        kernels.launch("embed", rows, 1, 256, 0, embed.address(), scratch.tokens(), scratch.x, h);
        for (int l = 0; l < layers.size(); l++) {
            DeviceLayer layer = layers.get(l);
            kernels.launch("rmsnorm", rows, 1, 256, 0, scratch.x, 0L, layer.inputNorm(), scratch.xb, h, eps);
            linear(layer.qkv(), scratch.xb, scratch.qkv, false, plan.projection);
            kernels.launch("bias_rope", rows, 1, 256, 0, scratch.qkv, layer.qkvBias(), scratch.positions(), invFreq,
                    qkvDim, c.numHeads() + c.numKvHeads(), c.headDim(), c.rotaryDim());
            kernels.launch("kv_store", rows, 1, 128, 0, scratch.qkv, kv.pool(), scratch.slotBlock(),
                    scratch.slotIndex(), l, kv.layers(), kv.blockSize(), c.qDim(), c.kvDim(), qkvDim);
            attention(kv, l, rows, qkvDim, scale, plan);
            toBf16(scratch.att, scratch.xb, (long) rows * c.qDim());
            linear(layer.o(), scratch.xb, scratch.x, true, plan.projection);

            kernels.launch("rmsnorm", rows, 1, 256, 0, scratch.x, 0L, layer.postNorm(), scratch.xb, h, eps);
            linear(layer.gateUp(), scratch.xb, scratch.gateUp, false, plan.projection);
            kernels.launch("swiglu", rows, 1, 256, 0, scratch.gateUp, scratch.xb, inter);
            linear(layer.down(), scratch.xb, scratch.x, true, plan.projection);
        }
        int logitRows = plan.logitRows.length;
        kernels.launch("rmsnorm", logitRows, 1, 256, 0, scratch.x, scratch.logitRows(), finalNorm, scratch.xb, h, eps);
        linear(lmHead, scratch.xb, scratch.logits, false, plan.logitGroups);
        return scratch.downloadLogits(plan, c.vocabSize());
    }

    /**
     * For now {@link Backend}'s default: the logits path, then the host draw
     * ({@link HostSampler#sampleRows}), which the device draw must equal when it replaces this
     * ({@code DrawChecks} checks it). Stated here so the host round trip is visible beside the GPU work.
     */
    @Override
    public List<RowResult> step(KvCache kvCache, List<SequenceChunk> chunks, List<RowSampling> rows) {
        return Backend.super.step(kvCache, chunks, rows);
    }

    /**
     * One {@link #forwardLogits} with every launch timed on the device: milliseconds per kernel name,
     * plus {@code "device_total"} (their sum) and {@code "wall"} (the whole call, host work and
     * launch gaps included). For benchmarks; the timing itself adds a little to the wall time.
     */
    @Override
    public synchronized Map<String, Double> profileForward(KvCache kvCache, List<SequenceChunk> chunks) {
        device.bind();
        try (KernelTimer timer = new KernelTimer()) {
            kernels.timer = timer;
            long start = System.nanoTime();
            forwardLogits(kvCache, chunks);
            double wall = (System.nanoTime() - start) / 1e6;
            Map<String, Double> ms = new java.util.LinkedHashMap<>(timer.collect());
            ms.put("device_total", ms.values().stream().mapToDouble(Double::doubleValue).sum());
            ms.put("wall", wall);
            return ms;
        } finally {
            kernels.timer = null;
        }
    }

    /**
     * {@code out[r] (+)= W in[r]} for every row: the short-chunk rows in one batch-invariant launch,
     * each long chunk in its own cuBLAS GEMM.
     */
    private void linear(DeviceMatrix w, long in, long out, boolean accumulate, StepPlan.RowGroups groups) {
        int n = w.rows();
        int k = w.cols();
        int rows = groups.kernelRows();
        if (rows > 0 && k % 8 == 0) {
            int warps = (n + MMA_ROWS - 1) / MMA_ROWS;
            kernels.launch3d("linear_mma", (warps + MMA_WARPS - 1) / MMA_WARPS, w.slices(),
                    (rows + MMA_TOKENS - 1) / MMA_TOKENS, 32 * MMA_WARPS, 0,
                    w.address(), in, out, scratch.partial, rows, n, k, w.slices(), accumulate ? 1 : 0);
            if (w.slices() > 1) {
                int blocks = (int) Math.min(4096, ((long) rows * n + 255) / 256);
                kernels.launch("linear_reduce", blocks, 1, 256, 0, scratch.partial, out, rows, n, w.slices(),
                        accumulate ? 1 : 0);
            }
        } else if (rows > 0) {
            int blocks = (n + LINEAR_WARPS_PER_BLOCK - 1) / LINEAR_WARPS_PER_BLOCK;
            kernels.launch("linear_rows_any", blocks, 1, 32 * LINEAR_WARPS_PER_BLOCK, 0,
                    w.address(), in, out, rows, n, k, accumulate ? 1 : 0);
        }
        for (int[] gemm : groups.gemms()) { // {first row, rows}
            if (kernels.timer != null) {
                kernels.timer.begin("cublasGemmEx");
            }
            try (FloatPointer alpha = new FloatPointer(1f); FloatPointer beta = new FloatPointer(accumulate ? 1f : 0f)) {
                // Row-major Y[rows, n] = X[rows, k] W[n, k]^T is column-major Y^T = W^T-as-stored x X^T.
                Cuda.checkBlas(cublas.cublasGemmEx(blas, cublas.CUBLAS_OP_T, cublas.CUBLAS_OP_N, n, gemm[1], k,
                        alpha, Cuda.pointer(w.address()), cudart.CUDA_R_16BF, k,
                        Cuda.pointer(in + 2L * gemm[0] * k), cudart.CUDA_R_16BF, k,
                        beta, Cuda.pointer(out + 4L * gemm[0] * n), cudart.CUDA_R_32F, n,
                        cublas.CUBLAS_COMPUTE_32F, cublas.CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
            }
            if (kernels.timer != null) {
                kernels.timer.end();
            }
        }
    }

    /**
     * How many slices of K linear_mma splits a matrix into: enough warps for the device to stream
     * it at full bandwidth, each slice at least two pieces long. A function of the shape and the
     * device only, so a token's sums are the same in every step.
     */
    private int slicesFor(int n, int k) {
        int warps = (n + MMA_ROWS - 1) / MMA_ROWS;
        int pieces = (k + MMA_PIECE - 1) / MMA_PIECE;
        int wanted = (device.multiprocessors() * MMA_WARPS_PER_SM + warps - 1) / warps;
        return Math.max(1, Math.min(wanted, pieces / 2));
    }

    /** The split kernel where the model's shape allows it (GLM-4's does), else one block per head. */
    private void attention(CudaKvCache kv, int layer, int rows, int qkvDim, float scale, StepPlan plan) {
        if (splitAttention) {
            int splits = splitsFor(plan.maxAttended);
            kernels.launch3d("attention_split", rows, c.numKvHeads(), splits, SPLIT_THREADS, 0, scratch.qkv, kv.pool(),
                    scratch.partO, scratch.partML, scratch.positions(), scratch.tableStart(), scratch.tables(), layer,
                    kv.layers(), kv.blockSize(), c.numHeads(), c.numKvHeads(), c.headDim(), qkvDim, scale, splits);
            kernels.launch("attention_merge", rows, c.numHeads(), c.headDim(), 0, scratch.partO, scratch.partML,
                    scratch.att, scratch.positions(), c.numHeads(), c.headDim(), splits);
        } else {
            kernels.launch("attention", rows, c.numHeads(), ATTENTION_THREADS, 0, scratch.qkv, kv.pool(), scratch.att,
                    scratch.positions(), scratch.tableStart(), scratch.tables(), layer, kv.layers(), kv.blockSize(),
                    c.numHeads(), c.numKvHeads(), c.headDim(), qkvDim, scale);
        }
    }

    /** Splits of a row attending to {@code count} positions: glm4.cu's fa_split_size, mirrored. */
    static int splitsFor(int count) {
        int size = SPLIT_MIN;
        while ((count + size - 1) / size > SPLIT_MAX) {
            size *= 2;
        }
        return (count + size - 1) / size;
    }

    private void toBf16(long x, long y, long n) {
        int blocks = (int) Math.min(4096, (n + 255) / 256);
        kernels.launch("to_bf16", blocks, 1, 256, 0, x, y, n);
    }

    /**
     * Copies a matrix to the device in bf16, a block of rows at a time, straight from the model's
     * row-major arrays: bf16 as it is, an f32 checkpoint rounded to bf16 here.
     */
    private DeviceMatrix upload(Matrix m, Map<Matrix, DeviceMatrix> uploaded) {
        DeviceMatrix existing = uploaded.get(m);
        if (existing != null) {
            return existing;
        }
        long address = track(Cuda.alloc(2L * m.rows * m.cols));
        int rowsPerCopy = Math.max(1, Math.min(m.rows, UPLOAD_CHUNK / m.cols));
        short[] bf16 = m.isBf16() ? m.bf16() : null;   // [rows * cols]
        float[] f32 = m.isBf16() ? null : m.f32();     // [rows * cols]
        short[] rounded = f32 != null ? new short[rowsPerCopy * m.cols] : null; // [rowsPerCopy * cols]
        try (ShortPointer host = new ShortPointer((long) rowsPerCopy * m.cols)) {
            for (int r0 = 0; r0 < m.rows; r0 += rowsPerCopy) {
                int from = r0 * m.cols;
                int n = Math.min(rowsPerCopy, m.rows - r0) * m.cols;
                if (bf16 != null) {
                    host.put(bf16, from, n);
                } else {
                    for (int i = 0; i < n; i++) {
                        rounded[i] = DType.floatToBf16(f32[from + i]);
                    }
                    host.put(rounded, 0, n);
                }
                Cuda.toDevice(address + 2L * from, host, 2L * n);
            }
        }
        DeviceMatrix d = new DeviceMatrix(address, m.rows, m.cols, slicesFor(m.rows, m.cols));
        uploaded.put(m, d);
        partialFloatsPerRow = Math.max(partialFloatsPerRow, d.slices() > 1 ? (long) d.slices() * d.rows() : 0);
        return d;
    }

    private long upload(float[] vector) {
        long address = track(Cuda.alloc(4L * vector.length));
        try (FloatPointer host = new FloatPointer(vector)) {
            Cuda.toDevice(address, host, 4L * vector.length);
        }
        return address;
    }

    private long track(long address) {
        allocations.add(address);
        return address;
    }

    @Override
    public synchronized void close() {
        device.bind();
        scratch.free();
        for (long a : allocations) {
            Cuda.free(a);
        }
        allocations.clear();
        kernels.close();
        cublas.cublasDestroy_v2(blas);
        Cuda.release(device);
    }

    /**
     * Per-step device buffers, grown to the largest step seen: activations, the step's integer
     * metadata (one upload per step) and the logits.
     */
    private final class Scratch {
        private int rowCapacity;
        private int logitCapacity;
        private int metaCapacity;
        long x;        // float [rows, hidden]
        long xb;       // bf16  [rows, max(hidden, qDim, intermediate)]
        long qkv;      // float [rows, qDim + 2 kvDim]
        long att;      // float [rows, qDim]
        long gateUp;   // float [rows, 2 intermediate]
        long partial;  // float [slices, rows, N] of linear_mma, for the widest sliced matrix
        long partO;    // float [rows, heads, splits, headDim] of attention_split
        long partML;   // float [rows, heads, splits, 2]
        private long splitCapacity; // rows * splits the two above hold
        long logits;   // float [logitRows, vocab]
        long meta;     // int   [StepPlan.metaInts()]
        private IntPointer hostMeta;
        private FloatPointer hostLogits;
        private StepPlan plan;

        void ensure(StepPlan step) {
            this.plan = step;
            if (step.rows > rowCapacity) {
                int rows = Math.max(step.rows, 2 * rowCapacity);
                freeRows();
                int wide = Math.max(c.hiddenSize(), Math.max(c.qDim(), c.intermediateSize()));
                x = Cuda.alloc(4L * rows * c.hiddenSize());
                xb = Cuda.alloc(2L * rows * wide);
                qkv = Cuda.alloc(4L * rows * (c.qDim() + 2 * c.kvDim()));
                att = Cuda.alloc(4L * rows * c.qDim());
                gateUp = Cuda.alloc(8L * rows * c.intermediateSize());
                partial = Cuda.alloc(Math.max(4, 4L * rows * partialFloatsPerRow));
                rowCapacity = rows;
            }
            long rowSplits = splitAttention ? (long) step.rows * splitsFor(step.maxAttended) : 0;
            if (rowSplits > splitCapacity) {
                long capacity = Math.max(rowSplits, 2 * splitCapacity);
                Cuda.free(partO);
                Cuda.free(partML);
                partO = Cuda.alloc(4L * capacity * c.numHeads() * c.headDim());
                partML = Cuda.alloc(8L * capacity * c.numHeads());
                splitCapacity = capacity;
            }
            if (step.logitRows.length > logitCapacity) {
                int rows = Math.max(step.logitRows.length, 2 * logitCapacity);
                Cuda.free(logits);
                if (hostLogits != null) {
                    Cuda.unpin(hostLogits);
                    hostLogits.close();
                }
                logits = Cuda.alloc(4L * rows * c.vocabSize());
                hostLogits = Cuda.pinned(new FloatPointer((long) rows * c.vocabSize()));
                logitCapacity = rows;
            }
            if (step.metaInts() > metaCapacity) {
                int ints = Math.max(step.metaInts(), 2 * metaCapacity);
                Cuda.free(meta);
                if (hostMeta != null) {
                    hostMeta.close();
                }
                meta = Cuda.alloc(4L * ints);
                hostMeta = new IntPointer(ints);
                metaCapacity = ints;
            }
        }

        void upload(StepPlan step) {
            int[] ints = step.meta();
            hostMeta.put(ints, 0, ints.length);
            Cuda.toDevice(meta, hostMeta, 4L * ints.length);
        }

        long tokens() {
            return meta + 4L * plan.tokensAt;
        }

        long positions() {
            return meta + 4L * plan.positionsAt;
        }

        long tableStart() {
            return meta + 4L * plan.tableStartAt;
        }

        long slotBlock() {
            return meta + 4L * plan.slotBlockAt;
        }

        long slotIndex() {
            return meta + 4L * plan.slotIndexAt;
        }

        long logitRows() {
            return meta + 4L * plan.logitRowsAt;
        }

        long tables() {
            return meta + 4L * plan.tablesAt;
        }

        /**
         * The step's logits, copied once over PCIe into pinned host memory and once from there
         * into each row's own array: at 64 rows of a 151k vocabulary that is 39 MB per step.
         */
        float[][][] downloadLogits(StepPlan step, int vocab) {
            Cuda.toHost(hostLogits, logits, 4L * step.logitRows.length * vocab);
            return step.split(vocab, (row, destination) -> {
                hostLogits.position((long) row * vocab).get(destination, 0, vocab);
                hostLogits.position(0);
            });
        }

        private void freeRows() {
            for (long a : new long[] {x, xb, qkv, att, gateUp, partial}) {
                Cuda.free(a);
            }
        }

        void free() {
            freeRows();
            Cuda.free(partO);
            Cuda.free(partML);
            Cuda.free(logits);
            Cuda.free(meta);
            if (hostMeta != null) {
                hostMeta.close();
            }
            if (hostLogits != null) {
                Cuda.unpin(hostLogits);
                hostLogits.close();
            }
        }
    }
}
