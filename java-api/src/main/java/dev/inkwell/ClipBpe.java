package dev.inkwell;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CLIP's byte-level BPE for one pre-token: its UTF-8 bytes become printable characters
 * ({@link #byteToChar}), the last one gets the end-of-word suffix {@code </w>}, and adjacent
 * symbols merge by rank (the lowest-ranked adjacent pair first, every occurrence left to right)
 * until no adjacent pair has a rank. Results are cached, as openai/CLIP does; thread safe.
 */
final class ClipBpe {
    static final String END_OF_WORD = "</w>";
    /** The cache is cleared when it grows past this many words (a service sees unbounded text). */
    private static final int CACHE_LIMIT = 1 << 16;

    private static final char[] BYTE_TO_CHAR = byteTable();

    /** "first second" to the merge's rank (its line in merges.txt, from 0). */
    private final Map<String, Integer> ranks;
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();

    ClipBpe(Map<String, Integer> ranks) {
        this.ranks = ranks;
    }

    /**
     * GPT-2's bytes_to_unicode: the printable bytes ! .. ~, ¡ .. ¬, ® .. ÿ stand for themselves,
     * the other 68 get U+0100 onwards in byte order, so no symbol is white space or a control.
     */
    private static char[] byteTable() {
        char[] table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = (char) (printable ? b : next++);
        }
        return table;
    }

    /**
     * The character that stands for byte b.
     *
     * @param b a byte (its low 8 bits are used)
     * @return its printable stand-in
     */
    static char byteToChar(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /**
     * The byte that character c stands for.
     *
     * @param c a character
     * @return the byte, or -1 when c stands for none
     */
    static int charToByte(char c) {
        for (int b = 0; b < 256; b++) {
            if (BYTE_TO_CHAR[b] == c) {
                return b;
            }
        }
        return -1;
    }

    /**
     * The BPE symbols of one pre-token (text as the pattern split it, not yet byte-encoded).
     *
     * @param token a non-empty pre-token
     * @return its symbols, the last one ending in {@code </w>}
     */
    List<String> encode(String token) {
        List<String> cached = cache.get(token);
        if (cached != null) {
            return cached;
        }
        byte[] utf8 = token.getBytes(StandardCharsets.UTF_8);
        List<String> word = new ArrayList<>(utf8.length);
        for (int i = 0; i < utf8.length; i++) {
            String symbol = String.valueOf(byteToChar(utf8[i]));
            word.add(i == utf8.length - 1 ? symbol + END_OF_WORD : symbol);
        }
        List<String> result = List.copyOf(merge(word));
        if (cache.size() >= CACHE_LIMIT) {
            cache.clear();
        }
        cache.put(token, result);
        return result;
    }

    private List<String> merge(List<String> word) {
        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer rank = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) {
                break;
            }
            List<String> merged = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); i++) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }
        return word;
    }
}
