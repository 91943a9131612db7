package io.flinkglm.runtime.tokenizer;

import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 that refuses bad bytes instead of replacing them with U+FFFD, so a caller can say what was
 * wrong (a token that holds part of a character, standard input that is not text). The connectors
 * module has its own copy ({@code io.flinkglm.connectors.formats.StrictUtf8}): neither module may
 * depend on the other.
 */
@Internal
public final class StrictUtf8 {
    private StrictUtf8() {}

    public static String decode(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
    }
}
