package io.flinkglm.runtime.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Standard input as strict UTF-8: invalid bytes are an error, never silently replaced. */
final class Stdin {
    private Stdin() {}

    static String readUtf8(InputStream in) throws IOException {
        byte[] bytes = in.readAllBytes();
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("standard input is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }
}
