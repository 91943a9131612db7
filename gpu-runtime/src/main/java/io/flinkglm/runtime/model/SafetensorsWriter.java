package io.flinkglm.runtime.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes one {@code .safetensors} file. Tensors are declared first (so the header, which precedes
 * the data, is complete), then their data is streamed in declaration order, so a multi-gigabyte
 * checkpoint is never held in memory at once.
 *
 * <pre>{@code
 * SafetensorsWriter out = new SafetensorsWriter();
 * out.declare("model.norm.weight", DType.F32, 64);
 * out.write(path, (name, sink) -> sink.floats(new float[64]));
 * }</pre>
 */
@Internal
public final class SafetensorsWriter {
    private record Entry(String name, DType dtype, long[] shape, long elements) {}

    /** Supplies a declared tensor's data, in pieces of any size, through the sink. */
    @FunctionalInterface
    public interface DataSource {
        void write(String name, Sink sink) throws IOException;
    }

    /** Receives a tensor's elements as f32; they are stored in the tensor's declared dtype. */
    public interface Sink {
        void floats(float[] values) throws IOException;
    }

    private final List<Entry> entries = new ArrayList<>();

    public void declare(String name, DType dtype, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        entries.add(new Entry(name, dtype, shape.clone(), n));
    }

    public void write(Path file, DataSource source) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", e.dtype().name());
            var shape = t.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            long bytes = e.elements() * e.dtype().bytes();
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8; // data 8-byte aligned, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(headerBytes);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(ch, head.flip());
            for (Entry e : entries) {
                long[] written = {0};
                source.write(e.name(), values -> {
                    ByteBuffer buf = ByteBuffer.allocate(values.length * e.dtype().bytes())
                            .order(ByteOrder.LITTLE_ENDIAN);
                    for (float v : values) {
                        switch (e.dtype()) {
                            case F32 -> buf.putFloat(v);
                            case BF16 -> buf.putShort(DType.floatToBf16(v));
                            case F16 -> buf.putShort(DType.floatToF16(v));
                        }
                    }
                    writeFully(ch, buf.flip());
                    written[0] += values.length;
                });
                if (written[0] != e.elements()) {
                    throw new IllegalStateException("tensor " + e.name() + " declared " + e.elements()
                            + " elements but " + written[0] + " were written");
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
