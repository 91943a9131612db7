package io.flinkglm.runtime.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the original GLM-4 {@code tokenizer.model}: one line per token, {@code base64(bytes) rank}.
 * The rank is both the merge priority and the token id; the GLM-4 special tokens follow the last rank.
 */
final class TiktokenFile {
    /** Far above any real vocabulary; a larger rank is a corrupt line, not a token. */
    private static final int MAX_RANK = 1 << 24;

    private TiktokenFile() {}

    static Vocabulary read(Path file) throws IOException {
        List<byte[]> byRank = new ArrayList<>(160_000);
        List<Integer> lineOfRank = new ArrayList<>(160_000);
        ByteSequenceIndex index = new ByteSequenceIndex(160_000);
        Base64.Decoder base64 = Base64.getDecoder();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    continue; // tiktoken's loader skips empty lines too
                }
                int space = line.indexOf(' ');
                if (space <= 0 || space != line.lastIndexOf(' ')) {
                    throw TokenizerFormatException.atLine(file, lineNo,
                            "expected 'base64(bytes) rank', got '" + abbreviate(line) + "'");
                }
                byte[] bytes;
                try {
                    bytes = base64.decode(line.substring(0, space));
                } catch (IllegalArgumentException e) {
                    throw TokenizerFormatException.atLine(file, lineNo, "bad base64 '"
                            + abbreviate(line.substring(0, space)) + "': " + e.getMessage());
                }
                int rank = parseRank(file, lineNo, line.substring(space + 1).strip());
                if (bytes.length == 0) {
                    throw TokenizerFormatException.atLine(file, lineNo, "token of rank " + rank + " has no bytes");
                }
                while (byRank.size() <= rank) {
                    byRank.add(null);
                    lineOfRank.add(0);
                }
                if (byRank.get(rank) != null) {
                    throw TokenizerFormatException.atLine(file, lineNo,
                            "rank " + rank + " already used by line " + lineOfRank.get(rank));
                }
                int earlier = index.putIfAbsent(bytes, rank);
                if (earlier >= 0) {
                    throw TokenizerFormatException.atLine(file, lineNo, "token bytes of rank " + rank
                            + " repeat those of rank " + earlier + " (line " + lineOfRank.get(earlier) + ")");
                }
                byRank.set(rank, bytes);
                lineOfRank.set(rank, lineNo);
            }
        }
        for (int rank = 0; rank < byRank.size(); rank++) {
            if (byRank.get(rank) == null) {
                throw TokenizerFormatException.inFile(file, "rank " + rank + " is missing (the file lists ranks up to "
                        + (byRank.size() - 1) + "; ranks must be 0..n-1)");
            }
        }
        Map<String, Integer> specials = new LinkedHashMap<>();
        for (String special : Vocabulary.GLM4_SPECIALS) {
            specials.put(special, byRank.size() + specials.size());
        }
        return Vocabulary.of(file, byRank.toArray(new byte[0][]), index, specials, null, true);
    }

    private static int parseRank(Path file, int lineNo, String text) throws TokenizerFormatException {
        try {
            int rank = Integer.parseInt(text);
            if (rank < 0 || rank > MAX_RANK) {
                throw new NumberFormatException("out of range");
            }
            return rank;
        } catch (NumberFormatException e) {
            throw TokenizerFormatException.atLine(file, lineNo, "rank '" + abbreviate(text) + "' is not an integer in 0.." + MAX_RANK + "");
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
