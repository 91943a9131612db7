package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.DType;
import org.apache.flink.annotation.PublicEvolving;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The element types exported KV may hold, their codes in the export formats, and the conversion
 * between them, so KV moves between caches of different dtypes (a bf16 device cache, the float32 CPU
 * cache). bf16 to f32 widens exactly (the bf16 bits are the top half of the f32 bits); f32 to bf16
 * rounds to nearest even ({@link DType#floatToBf16}, as torch does), so a value survives f32 → bf16 →
 * f32 within 2^-9 of itself, and bf16 → f32 → bf16 unchanged.
 *
 * <pre>{@code
 * ByteBuffer f32 = KvEncoding.convert(bf16Block, DType.BF16, DType.F32, values);
 * }</pre>
 */
@PublicEvolving
public final class KvEncoding {
    /** Codes of the dtype fields: stable, never reused; 0 is no dtype (data written before there was one). */
    public static final int CODE_F32 = 1;
    public static final int CODE_BF16 = 2;

    private KvEncoding() {}

    /** The code a dtype field holds for {@code dtype}; only F32 and BF16 are KV dtypes. */
    public static int code(DType dtype) {
        return switch (dtype) {
            case F32 -> CODE_F32;
            case BF16 -> CODE_BF16;
            default -> throw new IllegalArgumentException(dtype + " is not a KV dtype; KV is F32 or BF16");
        };
    }

    /**
     * The dtype a field's code names. Throws, naming {@code field}, for a code no writer uses (a corrupt
     * field), so bad bytes are never read as the wrong numbers.
     */
    public static DType dtype(int code, String field) {
        return switch (code) {
            case CODE_F32 -> DType.F32;
            case CODE_BF16 -> DType.BF16;
            default -> throw new IllegalArgumentException(field + " holds " + code + ", not a KV dtype code ("
                    + CODE_F32 + " = F32, " + CODE_BF16 + " = BF16): the KV is corrupt or from a newer engine");
        };
    }

    /**
     * {@code values} little-endian elements of {@code from} at {@code in}'s position, as {@code to}: the
     * same buffer (a duplicate) when the dtypes are equal, else a new little-endian buffer, positioned at 0.
     */
    public static ByteBuffer convert(ByteBuffer in, DType from, DType to, int values) {
        ByteBuffer src = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (from == to) {
            return src;
        }
        code(from); // both must be KV dtypes: anything else is refused, never misread
        code(to);
        ByteBuffer out = ByteBuffer.allocate(values * to.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        int at = src.position();
        if (from == DType.BF16) {
            for (int i = 0; i < values; i++) {
                out.putFloat(DType.bf16ToFloat(src.getShort(at + 2 * i)));
            }
        } else {
            for (int i = 0; i < values; i++) {
                out.putShort(DType.floatToBf16(src.getFloat(at + 4 * i)));
            }
        }
        return out.flip();
    }
}
