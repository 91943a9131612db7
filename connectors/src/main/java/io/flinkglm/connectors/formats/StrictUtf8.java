package io.flinkglm.connectors.formats;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 that refuses bad bytes instead of replacing them with U+FFFD: a record carrying them
 * becomes a dead letter, not a silently altered prompt. The runtime has its own copy
 * ({@code io.flinkglm.runtime.tokenizer.StrictUtf8}) because neither module may depend on the other.
 */
final class StrictUtf8 {
    private StrictUtf8() {}

    static String decode(byte[] bytes, int offset, int length) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes, offset, length))
                .toString();
    }
}
