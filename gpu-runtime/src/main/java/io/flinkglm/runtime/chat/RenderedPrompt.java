package io.flinkglm.runtime.chat;

import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.annotation.PublicEvolving;
import java.util.BitSet;

/**
 * A rendered chat prompt and the characters in it that came from messages rather than the template.
 * Encoding honours the difference: special-token strings are recognised only in template text.
 *
 * <pre>{@code
 * RenderedPrompt prompt = ChatTemplate.renderPrompt(messages, true);
 * System.out.print(prompt.text());
 * int[] ids = prompt.encode(tokenizer);
 * }</pre>
 */
@PublicEvolving
public final class RenderedPrompt {
    private final String text;
    private final BitSet plainTextChars;

    private RenderedPrompt(String text, BitSet plainTextChars) {
        this.text = text;
        this.plainTextChars = plainTextChars;
    }

    public String text() {
        return text;
    }

    /** Whether the char at {@code index} came from a message (content, metadata or a tool definition). */
    public boolean isPlainText(int index) {
        return plainTextChars.get(index);
    }

    public int[] encode(Glm4Tokenizer tokenizer) {
        return tokenizer.encodeWithSpecials(text, plainTextChars);
    }

    @Override
    public String toString() {
        return text;
    }

    /** Appends template text and message text, remembering which is which. */
    static final class Builder {
        private final StringBuilder text = new StringBuilder();
        private final BitSet plain = new BitSet();

        void template(String s) {
            text.append(s);
        }

        void plain(String s) {
            plain.set(text.length(), text.length() + s.length());
            text.append(s);
        }

        RenderedPrompt build() {
            return new RenderedPrompt(text.toString(), (BitSet) plain.clone());
        }
    }
}
