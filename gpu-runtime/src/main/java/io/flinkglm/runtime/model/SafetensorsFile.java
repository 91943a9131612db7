package io.flinkglm.runtime.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file: its header, checked in full when opened, and reads of its tensors.
 *
 * <p>Format: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets}}} with an optional {@code __metadata__}, then the raw
 * little-endian data. Every offset, size and dtype is validated before any tensor is read, so a
 * corrupt file fails with one message naming it rather than with an OutOfMemoryError later.
 *
 * <pre>{@code
 * try (SafetensorsFile f = SafetensorsFile.open(Path.of("model.safetensors"))) {
 *     float[] norm = f.readFloats("model.norm.weight");
 * }
 * }</pre>
 */
@Internal
public final class SafetensorsFile implements AutoCloseable {
    /** Headers beyond this are corrupt, not large: a 9B checkpoint's header is about 30 KB. */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    private static final int READ_CHUNK = 16 << 20;
    /** Strict: a second JSON value after the header object, or a tensor named twice, is an error. */
    private static final ObjectReader HEADER_READER = new ObjectMapper()
            .configure(JsonParser.Feature.STRICT_DUPLICATE_DETECTION, true)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).reader();

    /** Where one tensor lives in the file. Offsets are absolute file positions. */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final Map<String, TensorInfo> tensors;

    private SafetensorsFile(Path path, FileChannel channel, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.channel = channel;
        this.tensors = tensors;
    }

    /** Opens and validates a file; throws {@link ModelFormatException} naming it on any defect. */
    public static SafetensorsFile open(Path path) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new ModelFormatException(path, "cannot be opened: " + e);
        }
        try {
            return new SafetensorsFile(path, ch, readHeader(path, ch));
        } catch (RuntimeException | IOException e) {
            ch.close();
            throw e;
        }
    }

    private static Map<String, TensorInfo> readHeader(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new ModelFormatException(path, "is " + size + " bytes, too short for the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.flip().getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
            throw new ModelFormatException(path, String.format(
                    "header length %,d is beyond the file's %,d bytes (truncated or not a safetensors file)",
                    headerLen, size));
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8);
        JsonNode header = parseHeader(path, headerBuf.array());
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            out.put(e.getKey(), tensorInfo(path, e.getKey(), e.getValue(), dataStart, dataSize));
        }
        checkTiling(path, out.values(), dataStart, dataSize);
        return Collections.unmodifiableMap(out);
    }

    /**
     * The header must be exactly one JSON object followed by nothing but spaces (the format's only
     * padding). Anything else after the object means the declared length is wrong, and every
     * tensor would then be read from the wrong byte.
     */
    private static JsonNode parseHeader(Path path, byte[] bytes) {
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] == ' ') {
            end--;
        }
        JsonNode header;
        try {
            header = HEADER_READER.readTree(new String(bytes, 0, end, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelFormatException(path, String.format("safetensors header of %,d bytes is not one JSON"
                    + " object followed only by space padding (wrong header length?): %s", bytes.length,
                    e.getMessage()));
        }
        if (header == null || !header.isObject()) {
            throw new ModelFormatException(path, "header is not a JSON object");
        }
        return header;
    }

    private static TensorInfo tensorInfo(Path path, String name, JsonNode n, long dataStart, long dataSize) {
        if (!n.isObject()) {
            throw new ModelFormatException(path, "tensor " + name + " is " + n + ", not an object with dtype,"
                    + " shape and data_offsets");
        }
        String dtypeName = n.path("dtype").asText("");
        DType dtype = DType.fromHeader(dtypeName);
        if (dtype == null) {
            throw new ModelFormatException(path, "tensor " + name + " has dtype \"" + dtypeName
                    + "\"; supported are F32, F16 and BF16");
        }
        JsonNode shapeNode = n.get("shape");
        JsonNode offsets = n.get("data_offsets");
        if (shapeNode == null || !shapeNode.isArray() || offsets == null || !offsets.isArray()
                || offsets.size() != 2) {
            throw new ModelFormatException(path, "tensor " + name + " needs \"shape\" and two \"data_offsets\"");
        }
        long[] shape = new long[shapeNode.size()];
        long bytes = dtype.bytes();
        try {
            for (int i = 0; i < shape.length; i++) {
                shape[i] = naturalNumber(path, name, "shape", shapeNode.get(i));
                bytes = Math.multiplyExact(bytes, shape[i]);
            }
        } catch (ArithmeticException e) {
            throw new ModelFormatException(path, "tensor " + name + " has shape " + shapeNode
                    + ", more bytes than a 64-bit size holds");
        }
        long begin = naturalNumber(path, name, "data_offsets", offsets.get(0));
        long end = naturalNumber(path, name, "data_offsets", offsets.get(1));
        if (end < begin) {
            throw new ModelFormatException(path, String.format(
                    "tensor %s has data_offsets [%,d, %,d] that end before they begin", name, begin, end));
        }
        if (end > dataSize) {
            throw new ModelFormatException(path, String.format(
                    "safetensors header says tensor %s ends at data byte %,d but the file has %,d data bytes"
                            + " (truncated file?)", name, end, dataSize));
        }
        if (end - begin != bytes) {
            throw new ModelFormatException(path, String.format(
                    "tensor %s is %s %s (%,d bytes) but its data_offsets span %,d bytes",
                    name, dtype, java.util.Arrays.toString(shape), bytes, end - begin));
        }
        return new TensorInfo(name, dtype, shape, dataStart + begin, dataStart + end);
    }

    /** A JSON integer at least 0: {@code 1024.5} and {@code "1024"} are corruption, not 1024. */
    private static long naturalNumber(Path path, String tensor, String field, JsonNode v) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new ModelFormatException(path, "tensor " + tensor + " has " + field + " entry " + v
                    + "; it must be a non-negative JSON integer");
        }
        return v.longValue();
    }

    /**
     * As the safetensors format requires, the tensors tile the data section: the first begins at
     * data byte 0, each begins where the previous ends, and the last ends at the end of the file.
     * A header length off by one byte breaks exactly this, and would otherwise read every tensor
     * one byte off (all logits NaN).
     */
    private static void checkTiling(Path path, Iterable<TensorInfo> infos, long dataStart, long dataSize) {
        List<TensorInfo> sorted = new ArrayList<>();
        infos.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        String previous = null;
        for (TensorInfo t : sorted) {
            long begin = t.begin() - dataStart;
            if (begin < expected) {
                throw new ModelFormatException(path, "tensors " + previous + " and " + t.name()
                        + " overlap in the file");
            }
            if (begin > expected) {
                throw new ModelFormatException(path, String.format("safetensors header leaves data bytes"
                        + " %,d..%,d unused before tensor %s; tensors must follow each other from byte 0"
                        + " (wrong header length or corrupt data_offsets?)", expected, begin, t.name()));
            }
            expected = t.end() - dataStart;
            previous = t.name();
        }
        if (expected != dataSize) {
            throw new ModelFormatException(path, String.format("safetensors header says the tensor data ends"
                    + " at data byte %,d%s but the file has %,d data bytes (wrong header length, or a"
                    + " truncated or padded file?)", expected, previous == null ? "" : " (after " + previous + ")",
                    dataSize));
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new ModelFormatException(path, "has no tensor " + name);
        }
        return info;
    }

    /** Reads a tensor widened to f32 (exact for BF16 and F16). */
    public float[] readFloats(String name) throws IOException {
        return readFloats(info(name), 0, info(name).elements());
    }

    /** Reads elements [from, from+count) of a tensor widened to f32. */
    public float[] readFloats(TensorInfo t, long from, long count) throws IOException {
        float[] out = new float[Math.toIntExact(count)];
        stream(t, from, count, (buf, at, n) -> {
            switch (t.dtype()) {
                case F32 -> buf.asFloatBuffer().get(out, at, n);
                case BF16 -> {
                    for (int i = 0; i < n; i++) {
                        out[at + i] = DType.bf16ToFloat(buf.getShort(2 * i));
                    }
                }
                case F16 -> {
                    for (int i = 0; i < n; i++) {
                        out[at + i] = DType.f16ToFloat(buf.getShort(2 * i));
                    }
                }
            }
        });
        return out;
    }

    /** Reads elements [from, from+count) of a BF16 tensor as raw bf16 bits, without widening. */
    public short[] readBf16(TensorInfo t, long from, long count) throws IOException {
        if (t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(t.name() + " is " + t.dtype() + ", not BF16");
        }
        short[] out = new short[Math.toIntExact(count)];
        stream(t, from, count, (buf, at, n) -> buf.asShortBuffer().get(out, at, n));
        return out;
    }

    private interface ChunkSink {
        void accept(ByteBuffer littleEndianChunk, int firstElement, int elements);
    }

    /** Reads the elements in bounded chunks: tensors may exceed the 2 GB of one ByteBuffer. */
    private void stream(TensorInfo t, long from, long count, ChunkSink sink) throws IOException {
        int width = t.dtype().bytes();
        if (from < 0 || count < 0 || from + count > t.elements()) {
            throw new IllegalArgumentException("elements [" + from + ", " + (from + count) + ") outside "
                    + t.name() + " of " + t.elements());
        }
        int perChunk = READ_CHUNK / width;
        ByteBuffer buf = ByteBuffer.allocateDirect(perChunk * width).order(ByteOrder.LITTLE_ENDIAN);
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(perChunk, count - done);
            buf.clear().limit(n * width);
            readFully(channel, buf, t.begin() + (from + done) * width);
            buf.flip();
            sink.accept(buf.slice().order(ByteOrder.LITTLE_ENDIAN), (int) done, n);
            done += n;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + position);
            }
            position += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
