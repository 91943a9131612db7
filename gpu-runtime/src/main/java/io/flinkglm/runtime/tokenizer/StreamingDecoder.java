package io.flinkglm.runtime.tokenizer;

import org.apache.flink.annotation.PublicEvolving;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of generated ids into text without ever emitting half a character: a token may end
 * inside a multi-byte UTF-8 sequence (an emoji is often 2-4 tokens), so the incomplete tail is held
 * until the next token completes it.
 *
 * <p>One per generated sequence; not thread-safe.
 * <pre>{@code
 * StreamingDecoder d = tokenizer.newDecoder();
 * for (int id : generated) sink.write(d.accept(id));
 * sink.write(d.flush());
 * }</pre>
 */
@PublicEvolving
public final class StreamingDecoder {
    private final Glm4Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamingDecoder(Glm4Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds token {@code id}; returns the text it completes, possibly empty. An id past the
     * tokenizer's vocabulary (a padding row of the model's embedding) adds no bytes.
     */
    public String accept(int id) {
        byte[] bytes = tokenizer.bytesOf(id);
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
        return take(completeLength(pending, pendingLength));
    }

    /** Returns whatever is held back, malformed bytes as U+FFFD; the decoder is then empty. */
    public String flush() {
        return take(pendingLength);
    }

    private String take(int length) {
        String text = new String(pending, 0, length, StandardCharsets.UTF_8);
        System.arraycopy(pending, length, pending, 0, pendingLength - length);
        pendingLength -= length;
        return text;
    }

    /**
     * Length of the prefix that can be decoded now: everything except a trailing sequence that has a
     * valid lead byte and continuation bytes but fewer than the lead byte announces. Malformed bytes
     * are not held (waiting would not fix them); they decode to U+FFFD.
     */
    static int completeLength(byte[] b, int length) {
        for (int back = 1; back <= 3 && back <= length; back++) {
            int lead = b[length - back] & 0xFF;
            if ((lead & 0xC0) == 0x80) {
                continue; // continuation byte: the lead is further back
            }
            int needed = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? (lead <= 0xEF ? 3 : 0) : lead >= 0xC2 ? 2 : 0;
            return needed > back ? length - back : length;
        }
        return length;
    }
}
