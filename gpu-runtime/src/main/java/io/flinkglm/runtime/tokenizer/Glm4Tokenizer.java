package io.flinkglm.runtime.tokenizer;

import org.apache.flink.annotation.PublicEvolving;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The GLM-4 tokenizer: byte-level BPE over GLM-4's pre-split regex plus 14 special tokens.
 *
 * <p>Immutable and thread-safe; load once and share it across requests. {@link #encode} treats all
 * text as ordinary, so a user typing {@code <|assistant|>} gets the tokens of those characters;
 * only {@link #encodeWithSpecials} recognises special-token strings, for rendered templates.
 *
 * <pre>{@code
 * Glm4Tokenizer tok = Glm4Tokenizer.load(Path.of("models/glm-4-9b-chat"));
 * int[] ids = tok.encodeWithSpecials("[gMASK]<sop><|user|>\n你好<|assistant|>");
 * String text = tok.decode(tok.encode("Hello world"));   // "Hello world"
 * }</pre>
 */
@PublicEvolving
public final class Glm4Tokenizer {
    /** Pieces longer than this are rare enough that caching them would only churn memory. */
    private static final int MAX_CACHED_PIECE_CHARS = 48;
    /** About 10 MB of cached pieces; beyond it new pieces are encoded but not remembered. */
    private static final int MAX_CACHED_PIECES = 1 << 17;

    private static final byte[] NO_BYTES = new byte[0];

    private final byte[][] tokenBytes; // [vocabSize]: UTF-8 text for special tokens
    private final Map<String, Integer> specialIds;
    private final List<String> specialsLongestFirst;
    private final BitSet specialFirstChars;
    private final BytePairEncoder encoder;
    private final int[] stopIds;
    private final ConcurrentHashMap<String, int[]> pieceCache = new ConcurrentHashMap<>();

    private Glm4Tokenizer(Vocabulary vocabulary) {
        this.tokenBytes = vocabulary.tokenBytes();
        this.specialIds = vocabulary.specialIds();
        this.encoder = vocabulary.encoder();
        this.specialsLongestFirst = specialIds.keySet().stream()
                .sorted(Comparator.comparingInt(String::length).reversed()).toList();
        this.specialFirstChars = new BitSet();
        specialIds.keySet().forEach(s -> specialFirstChars.set(s.charAt(0)));
        this.stopIds = Vocabulary.GLM4_STOP_TOKENS.stream()
                .filter(specialIds::containsKey).mapToInt(specialIds::get).toArray();
    }

    /**
     * Loads {@code tokenizer.json} (Hugging Face) or {@code tokenizer.model} (tiktoken ranks). Given a
     * model directory, tokenizer.json is preferred when both are there.
     *
     * @throws TokenizerFormatException if the file is malformed or of an unsupported kind
     */
    public static Glm4Tokenizer load(Path fileOrModelDir) throws IOException {
        Path file = fileOrModelDir;
        if (Files.isDirectory(fileOrModelDir)) {
            file = fileOrModelDir.resolve("tokenizer.json");
            if (!Files.isRegularFile(file)) {
                file = fileOrModelDir.resolve("tokenizer.model");
            }
            if (!Files.isRegularFile(file)) {
                throw new FileNotFoundException("neither tokenizer.json nor tokenizer.model in " + fileOrModelDir);
            }
        }
        boolean json = file.getFileName().toString().endsWith(".json");
        return new Glm4Tokenizer(json ? HuggingFaceTokenizerFile.read(file) : TiktokenFile.read(file));
    }

    /** Encodes all of {@code text} as ordinary text: special-token strings in it are plain characters. */
    public int[] encode(String text) {
        IdBuffer out = new IdBuffer(text.length() / 3);
        encodeOrdinary(text, 0, text.length(), out);
        return out.toArray();
    }

    /** Encodes a rendered prompt, turning every special-token string in it into its id. */
    public int[] encodeWithSpecials(String renderedPrompt) {
        return encodeWithSpecials(renderedPrompt, new BitSet());
    }

    /**
     * Encodes a rendered prompt, recognising special-token strings except where they would touch a
     * char marked in {@code plainTextChars} — the spans of user content, so content cannot inject
     * {@code <|assistant|>} while the template around it still can.
     */
    public int[] encodeWithSpecials(String renderedPrompt, BitSet plainTextChars) {
        IdBuffer out = new IdBuffer(renderedPrompt.length() / 3);
        int chunkStart = 0;
        for (int i = 0; i < renderedPrompt.length(); i++) {
            if (!specialFirstChars.get(renderedPrompt.charAt(i))) {
                continue;
            }
            String special = specialAt(renderedPrompt, i, plainTextChars);
            if (special != null) {
                encodeOrdinary(renderedPrompt, chunkStart, i, out);
                out.add(specialIds.get(special));
                i += special.length() - 1;
                chunkStart = i + 1;
            }
        }
        encodeOrdinary(renderedPrompt, chunkStart, renderedPrompt.length(), out);
        return out.toArray();
    }

    private String specialAt(String text, int at, BitSet plainTextChars) {
        for (String special : specialsLongestFirst) {
            if (text.startsWith(special, at)) {
                int plain = plainTextChars.nextSetBit(at);
                return plain >= 0 && plain < at + special.length() ? null : special;
            }
        }
        return null;
    }

    private void encodeOrdinary(String text, int from, int to, IdBuffer out) {
        PreTokenizer.split(text, from, to, (start, end) -> {
            if (end - start > MAX_CACHED_PIECE_CHARS) {
                out.addAll(encoder.encodePiece(text.substring(start, end).getBytes(StandardCharsets.UTF_8)));
                return;
            }
            String piece = text.substring(start, end);
            int[] ids = pieceCache.get(piece);
            if (ids == null) {
                ids = encoder.encodePiece(piece.getBytes(StandardCharsets.UTF_8));
                if (pieceCache.size() < MAX_CACHED_PIECES) {
                    pieceCache.put(piece, ids);
                }
            }
            out.addAll(ids);
        });
    }

    /**
     * Concatenates the tokens' bytes and reads them as UTF-8 (malformed bytes become U+FFFD, as in
     * the reference decode). Special tokens decode to their text; ids at or above
     * {@link #vocabSize()} decode to nothing (see {@link #tokenBytes}).
     *
     * @throws IllegalArgumentException for a negative id
     */
    public String decode(int[] ids) {
        int length = 0;
        for (int id : ids) {
            length += bytesOf(id).length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (int id : ids) {
            byte[] b = bytesOf(id);
            System.arraycopy(b, 0, all, at, b.length);
            at += b.length;
        }
        return new String(all, StandardCharsets.UTF_8);
    }

    /** A decoder for one generated stream; it emits only complete UTF-8 characters. */
    public StreamingDecoder newDecoder() {
        return new StreamingDecoder(this);
    }

    /** The id of a special token such as {@code "<|user|>"}. */
    public int specialId(String token) {
        Integer id = specialIds.get(token);
        if (id == null) {
            throw new IllegalArgumentException("'" + token + "' is not a special token; known: " + specialIds.keySet());
        }
        return id;
    }

    /** The id of a special token, or empty. */
    public OptionalInt findSpecialId(String token) {
        Integer id = specialIds.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The id of the single token spelling {@code text} (a special token, or an ordinary token's UTF-8), or empty. */
    public OptionalInt findTokenId(String text) {
        OptionalInt special = findSpecialId(text);
        if (special.isPresent()) {
            return special;
        }
        int id = encoder.tokenId(text.getBytes(StandardCharsets.UTF_8));
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether {@code id} is one of the special tokens. */
    public boolean isSpecial(int id) {
        return specialIds.containsValue(id);
    }

    /** The special-token strings this vocabulary recognises. */
    public Set<String> specialTokens() {
        return specialIds.keySet();
    }

    /** Ordinary tokens plus special tokens; the model's embedding table may be larger (padded). */
    public int vocabSize() {
        return tokenBytes.length;
    }

    /**
     * A copy of the bytes of token {@code id}; empty for an id at or above {@link #vocabSize()}.
     *
     * <p>GLM-4's embedding table is padded to 151,552 rows but the tokenizer has 151,343 ids, and a
     * model can sample a padding id. transformers decodes such an id as nothing, and so do we: the
     * id stays in the output ids, the text gets no bytes, and the request is not lost.
     */
    public byte[] tokenBytes(int id) {
        return bytesOf(id).clone();
    }

    /**
     * Token {@code id} as text for display: its UTF-8 if the bytes are whole characters, otherwise
     * each byte as {@code <0xE4>} (a token may hold a third of a Chinese character).
     */
    public String tokenText(int id) {
        byte[] bytes = bytesOf(id);
        try {
            return StrictUtf8.decode(bytes);
        } catch (CharacterCodingException e) {
            StringBuilder hex = new StringBuilder();
            for (byte b : bytes) {
                hex.append(String.format("<0x%02X>", b & 0xFF));
            }
            return hex.toString();
        }
    }

    /** Ids that end an assistant turn: {@code <|endoftext|>}, {@code <|user|>}, {@code <|observation|>}. */
    public int[] stopIds() {
        return stopIds.clone();
    }

    /** A negative id is a caller's bug, never a sampled token, so it still throws. */
    byte[] bytesOf(int id) {
        if (id < 0) {
            throw new IllegalArgumentException("token id " + id + " is negative; ids run from 0");
        }
        return id < tokenBytes.length ? tokenBytes[id] : NO_BYTES;
    }
}
