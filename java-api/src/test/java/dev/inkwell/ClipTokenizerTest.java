package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.cli.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CLIP tokenizer: the 40 golden cases of ../shared/golden/models/clip (openai/CLIP with ftfy
 * 6.3.1), all exact, plus our own edge cases. Text-cleaning expectations below were taken from
 * openai/CLIP's cleaning with ftfy 6.3.1.
 */
class ClipTokenizerTest {
    private static final int BOS = 49406;
    private static final int EOS = 49407;

    private static Path clipDir() {
        return Golden.dir().resolve("models/clip");
    }

    private static ClipTokenizer sd15() throws IOException {
        return ClipTokenizer.load(clipDir().resolve("tokenizer"));
    }

    // ---- golden -------------------------------------------------------------------------

    @Test
    void goldenCasesMatchExactly() throws IOException {
        ClipTokenizer tok = sd15();
        Map<?, ?> file = (Map<?, ?>) Json.parse(Files.readString(clipDir().resolve("tokenizer_cases.json")));
        assertEquals(77.0, file.get("max_length"));
        assertEquals(77, tok.maxLength());
        assertEquals(((Double) file.get("pad_id")).intValue(), tok.padTokenId());
        assertEquals(((Double) file.get("bos_id")).intValue(), tok.bosTokenId());
        assertEquals(((Double) file.get("eos_id")).intValue(), tok.eosTokenId());
        List<?> cases = (List<?>) file.get("cases");
        assertTrue(cases.size() >= 40, "expected the 40 golden cases, found " + cases.size());
        List<String> failures = new ArrayList<>();
        for (Object o : cases) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = (String) c.get("name");
            String text = (String) c.get("text");
            int[] ids = ints(c.get("ids"));
            int[] padded = ints(c.get("ids_padded_77"));
            int[] ours = frame(tok.textIds(text));
            if (!Arrays.equals(ids, ours)) {
                failures.add(name + ": ids " + Arrays.toString(ours) + ", golden " + Arrays.toString(ids));
            }
            if (!Arrays.equals(padded, tok.encode(text))) {
                failures.add(name + ": padded ids " + Arrays.toString(tok.encode(text)) + ", golden " + Arrays.toString(padded));
            }
            if (!c.get("tokens").equals(tok.tokens(text))) {
                failures.add(name + ": tokens " + tok.tokens(text) + ", golden " + c.get("tokens"));
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " golden mismatches:\n" + String.join("\n", failures));
    }

    @Test
    void manifestListsTheSameCases() throws IOException {
        ClipTokenizer tok = sd15();
        Map<?, ?> manifest = (Map<?, ?>) Json.parse(Files.readString(clipDir().resolve("manifest.json")));
        List<?> cases = (List<?>) manifest.get("tokenizer");
        assertTrue(cases != null && cases.size() >= 40, "models/clip/manifest.json lists the tokenizer cases");
        for (Object o : cases) {
            Map<?, ?> c = (Map<?, ?>) o;
            assertArrayEquals(ints(c.get("ids_padded_77")), tok.encode((String) c.get("text")), (String) c.get("name"));
        }
    }

    private static int[] frame(int[] content) {
        int[] out = new int[content.length + 2];
        out[0] = BOS;
        System.arraycopy(content, 0, out, 1, content.length);
        out[out.length - 1] = EOS;
        return out;
    }

    private static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(v -> ((Double) v).intValue()).toArray();
    }

    // ---- sequences -----------------------------------------------------------------------

    @Test
    void emptyAndWhitespaceOnlyAreStartEndAndPadding() throws IOException {
        ClipTokenizer tok = sd15();
        int[] expected = new int[77];
        Arrays.fill(expected, EOS);
        expected[0] = BOS;
        for (String text : List.of("", " ", " \t\n\r\n \u00a0\u3000\u2003\u2028 ", "\ufeff\u0000\u0007 \u001b[0m")) {
            assertArrayEquals(expected, tok.encode(text), "text " + escape(text));
            assertEquals(List.of(), tok.tokens(text));
        }
        // a zero-width space is neither white space nor removed (by ftfy): a token of its own
        assertEquals(List.of("âĢĭ</w>"), tok.tokens("\u200b"));
    }

    @Test
    void truncationKeepsTheEndTokenLastAndWarns() throws IOException {
        ClipTokenizer tok = sd15();
        int cat = tok.textIds("cat")[0];
        List<LogRecord> records = captureWarnings(() -> {
            int[] ids = tok.encode("cat ".repeat(200));
            assertEquals(77, ids.length);
            assertEquals(BOS, ids[0]);
            assertEquals(EOS, ids[76]);
            for (int i = 1; i <= 75; i++) {
                assertEquals(cat, ids[i], "position " + i);
            }
        });
        assertEquals(1, records.size(), "one warning for one truncated prompt");
        String message = records.get(0).getMessage();
        assertTrue(message.contains("truncated") && message.contains("75 of its 200") && message.contains("cat cat"), message);

        // 75 text tokens fit exactly: no warning; 76 do not
        assertEquals(0, captureWarnings(() -> assertEquals(EOS, tok.encode("cat ".repeat(75))[76])).size());
        assertEquals(1, captureWarnings(() -> assertEquals(EOS, tok.encode("cat ".repeat(76))[76])).size());
    }

    @Test
    void batchEncodesEachTextAndNamesANullOne() throws IOException {
        ClipTokenizer tok = sd15();
        int[][] rows = tok.encode(List.of("a photo of a cat", ""));
        assertArrayEquals(tok.encode("a photo of a cat"), rows[0]);
        assertArrayEquals(tok.encode(""), rows[1]);
        assertEquals(0, tok.encode(List.of()).length);
        List<String> withNull = Arrays.asList("cat", null);
        NullPointerException e = assertThrows(NullPointerException.class, () -> tok.encode(withNull));
        assertTrue(e.getMessage().contains("texts[1]"), e.getMessage());
        assertThrows(NullPointerException.class, () -> tok.encode((String) null));
        assertThrows(NullPointerException.class, () -> tok.tokens(null));
    }

    @Test
    void everyTextIsCoveredByteForByte() throws IOException {
        // Byte-level BPE has no unknown token: the tokens' bytes are the cleaned text's bytes
        // (spaces aside), for emoji, ZWJ sequences, flags, CJK, Hangul, scripts and code points
        // no vocabulary entry was made for (private use, U+10FFFF).
        ClipTokenizer tok = sd15();
        List<String> texts = new ArrayList<>(List.of(
                "😀🐱 cute cat emoji 👍🏽", "family 👨\u200d👩\u200d👧 ❤️", "🏴\uDB40\uDC67\uDB40\uDC62\uDB40\uDC77\uDB40\uDC6C\uDB40\uDC73\uDB40\uDC7F 🇯🇵",
                "黑发少女 日本語のテキスト 안녕하세요", "हिन्दी ไทย مرحبا שלום", "\uE000\uF8FF \uDBFF\uDFFF \uFFFD", "x\u0301\u0302\u0303"));
        Random random = new Random(7);
        for (int n = 0; n < 200; n++) {
            StringBuilder s = new StringBuilder();
            for (int k = random.nextInt(20); k > 0; k--) {
                int cp = random.nextInt(0x30000);
                if (Character.isDefined(cp) && !Character.isSurrogate((char) cp) && !Character.isISOControl(cp)) {
                    s.appendCodePoint(cp);
                }
            }
            texts.add(s.toString());
        }
        for (String text : texts) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String token : tok.tokens(text)) {
                for (char c : token.replace("</w>", "").toCharArray()) {
                    int b = ClipBpe.charToByte(c);
                    assertTrue(b >= 0, "token " + token + " of " + escape(text));
                    bytes.write(b);
                }
            }
            String clean = ClipTextCleaner.clean(text).replace(" ", "");
            assertArrayEquals(clean.getBytes(StandardCharsets.UTF_8), bytes.toByteArray(), escape(text));
            for (int id : tok.textIds(text)) {
                assertTrue(id >= 0 && id < BOS, "id " + id + " in " + escape(text));
            }
        }
    }

    @Test
    void unknownAndBrokenCharactersBecomeBytes() throws IOException {
        ClipTokenizer tok = sd15();
        // an unpaired surrogate is U+FFFD (ftfy's fix_surrogates), whose 3 UTF-8 bytes are tokens
        assertEquals(tok.tokens("\uFFFD"), tok.tokens("\uD800"));
        assertEquals(tok.tokens("a \uFFFD b"), tok.tokens("a \uDC00 b"));
        assertArrayEquals(new int[] {39802}, tok.textIds("\uFFFD")); // "ï¿½</w>": its bytes EF BF BD
        // private use and the last code point: their bytes, as BPE merges them
        assertEquals(List.of("îĢ", "Ģ</w>"), tok.tokens("\uE000"));
        assertEquals(List.of("ô", "ı", "¿", "¿</w>"), tok.tokens("\uDBFF\uDFFF"));
    }

    @Test
    void specialTokensWrittenInTheTextKeepTheirIds() throws IOException {
        ClipTokenizer tok = sd15();
        assertArrayEquals(new int[] {BOS, 320, 2368, EOS}, tok.textIds("<|startoftext|>a cat<|endoftext|>"));
        // matched after lower-casing, as openai/CLIP does
        assertArrayEquals(new int[] {EOS}, tok.textIds("<|ENDOFTEXT|>"));
        // a near miss is plain punctuation and letters
        assertArrayEquals(new int[] {27, 347, 40786, 4160, 347}, tok.textIds("<|endoftext|"));
    }

    @Test
    void concurrentUseGivesTheSameIds() throws Exception {
        ClipTokenizer tok = sd15();
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            texts.add("prompt " + i + ", masterpiece " + (i * 7919) + " photorealistic ÜNÏCÖDÉ 黑发 " + i % 13);
        }
        List<int[]> expected = texts.stream().map(tok::encode).toList();
        ClipTokenizer fresh = sd15(); // empty cache: threads race to fill it
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int i = 0; i < texts.size(); i++) {
                        if (!Arrays.equals(expected.get(i), fresh.encode(texts.get(i)))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> r : results) {
                assertTrue(r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- text cleaning (no vocabulary needed) ---------------------------------------------

    @Test
    void htmlReferencesAreDecodedAsClipDoes() {
        // ftfy's own unescaping (references with ';', repeated), then html.unescape twice
        assertEquals("tom & jerry <3 © ¬it; 😀😀 [\uFFFD] [\uFFFD] € é é ss",
                ClipTextCleaner.clean("tom &amp;amp; jerry &lt;3 &copy; &notit; &#x1F600;&#128512; [&#0;] [&#xD800;] &#x80; &eacute &EACUTE; &SZLIG;"));
        assertEquals("salt & pepper", ClipTextCleaner.clean("salt &amp;amp;amp; pepper"));
        // a '<' marks real HTML: ftfy then leaves references alone, so only CLIP's two passes run
        assertEquals("<b>salt &amp; pepper</b>", ClipTextCleaner.clean("<b>salt &amp;amp;amp; pepper</b>"));
        // ... for that line and every line after it
        assertEquals("first line <i>x</i> &amp; third &amp;",
                ClipTextCleaner.clean("first line\n<i>x</i> &amp;amp;amp;\nthird &amp;amp;amp;"));
        // Python's rules for broken references
        assertEquals("a aa; &#x; & &; &#", ClipTextCleaner.clean("a &#65a; &#x; & &; &#"));
        assertEquals("©x;", HtmlUnescaper.unescape("&copyx;")); // longest legacy name, no ';'
        assertEquals("&copyx;", HtmlUnescaper.unescapeStrict("&copyx;")); // ftfy wants the ';'
        assertEquals("℗", HtmlUnescaper.unescape("&copysr;"));
        assertEquals("\r|\u0192|\u2122|", HtmlUnescaper.unescape("&#13;|&#x83;|&#153;|&#x1F;"));
        assertEquals("\uFFFD\uFFFD", HtmlUnescaper.unescape("&#1114112;&#99999999999999999999;"));
    }

    @Test
    void ftfyFixesWeReproduce() {
        assertEquals("it's \"quoted\" 'x' don't", ClipTextFixer.fixText("it’s “quoted” ‘x’ don’t"));
        assertEquals("fine floff ij HELLO world! カタカナ", ClipTextFixer.fixText("ﬁne ﬂoﬀ ĳ ＨＥＬＬＯ\u3000ｗｏｒｌｄ！ ｶﾀｶﾅ"));
        assertEquals("café crème", ClipTextFixer.fixText("cafÃ© crÃ¨me"));
        assertEquals("\"quoted\"", ClipTextFixer.fixText("â€œquotedâ€\u009d"));
        assertEquals("😀 cat", ClipTextFixer.fixText("ðŸ˜€ cat"));
        assertEquals("caf\u00e9", ClipTextFixer.fixText("cafe\u0301"));
        assertEquals("abcde", ClipTextFixer.fixText("a\u0000b\u0007c\u001b[31md\u007fe\ufeff"));
        assertEquals("€…\u009d", ClipTextFixer.fixText("\u0080\u0085\u009d"));
        assertEquals("x\ny\nz\nw", ClipTextFixer.fixText("x\r\ny\rz\u2028w"));
        assertEquals("a\uFFFDb", ClipTextFixer.fixText("a\uD800b"));
    }

    @Test
    void realTextThatLooksLikeMojibakeIsLeftAlone() {
        // each of these is valid UTF-8 once read as Latin-1 / Windows-1252; ftfy keeps them too
        for (String text : List.of("NESTLÉ®", "4288×…", "Offering 5×£35", "ESSE CARA AI QUEM É¿",
                "SELKÄ\u00a0EDELLÄ\u00a0MAAHAN", "naïve señor", "ÜNÏCÖDÉ ÀÉÎÕÜ")) {
            assertEquals(text, ClipTextFixer.fixText(text));
        }
        assertEquals("There are Ã's", ClipTextFixer.fixText("There are Ã’s")); // only the quote uncurled
    }

    @Test
    void lowerCaseFollowsPython() {
        assertEquals("οδυσσευς αθήνα", ClipTextCleaner.clean("ΟΔΥΣΣΕΥΣ Αθήνα"));
        // final sigma by Unicode's rule (Java's word-boundary rule would keep σ here)
        assertEquals("σας'안녕", ClipTextCleaner.lowerCase("ΣΑΣ'안녕"));
        assertEquals("σ", ClipTextCleaner.lowerCase("Σ"));
        assertEquals("i\u0307stanbul ß", ClipTextCleaner.clean("İstanbul ẞ"));
    }

    @Test
    void whiteSpaceIsCollapsedAndStripped() {
        assertEquals("multiple spaces and tabs and new lines end",
                ClipTextCleaner.clean("multiple   spaces\tand\t\ttabs\nand\nnew lines \r\n  end"));
        assertEquals("a cat on a mat", ClipTextCleaner.clean("a\u00a0cat\u2003on\u3000a mat"));
        assertEquals("", ClipTextCleaner.clean(" \t\n\u000b\u000c\r\u2029\u1680\u205f "));
        // NEL is a C1 control: ftfy reads it as Windows-1252's … before line breaks are seen
        assertEquals("…", ClipTextCleaner.clean(" \u0085 "));
    }

    // ---- loading --------------------------------------------------------------------------

    @Test
    void missingFolderAndFilesAreNamed(@TempDir Path dir) throws IOException {
        Path nowhere = dir.resolve("nope");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> ClipTokenizer.load(nowhere));
        assertTrue(e.getMessage().contains(nowhere.toString()), e.getMessage());

        Path tok = copyTokenizer(dir);
        Files.delete(tok.resolve("vocab.json"));
        e = assertThrows(NoSuchFileException.class, () -> ClipTokenizer.load(tok));
        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());

        Path tok2 = copyTokenizer(dir.resolve("b"));
        Files.delete(tok2.resolve("merges.txt"));
        e = assertThrows(NoSuchFileException.class, () -> ClipTokenizer.load(tok2));
        assertTrue(e.getMessage().contains("merges.txt"), e.getMessage());
    }

    @Test
    void malformedFilesAreNamed(@TempDir Path dir) throws IOException {
        Path tok = copyTokenizer(dir);
        List<String> merges = new ArrayList<>(Files.readAllLines(tok.resolve("merges.txt")));
        merges.set(5, "onlyone");
        Files.write(tok.resolve("merges.txt"), merges);
        IOException e = assertThrows(IOException.class, () -> ClipTokenizer.load(tok));
        assertTrue(e.getMessage().contains("merges.txt") && e.getMessage().contains("line 6"), e.getMessage());

        Path tok2 = copyTokenizer(dir.resolve("b"));
        Files.writeString(tok2.resolve("vocab.json"), "{\"a\": 1,");
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(tok2));
        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());

        Path tok3 = copyTokenizer(dir.resolve("c"));
        Files.writeString(tok3.resolve("tokenizer_config.json"), "{\"model_max_length\": 1000000000000000019884624838656}");
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(tok3));
        assertTrue(e.getMessage().contains("tokenizer_config.json") && e.getMessage().contains("model_max_length"), e.getMessage());

        Path tok4 = copyTokenizer(dir.resolve("d"));
        Files.writeString(tok4.resolve("special_tokens_map.json"), "{\"pad_token\": \"<|nope|>\"}");
        e = assertThrows(IOException.class, () -> ClipTokenizer.load(tok4));
        assertTrue(e.getMessage().contains("special_tokens_map.json") && e.getMessage().contains("<|nope|>"), e.getMessage());
    }

    @Test
    void padTokenAndLengthComeFromTheFiles(@TempDir Path dir) throws IOException {
        // SD 2.x-style checkpoints pad with "!" (id 0); the map wins over the config, and
        // transformers' {"content": ...} form is accepted
        Path tok = copyTokenizer(dir);
        Files.writeString(tok.resolve("special_tokens_map.json"), "{\"pad_token\": {\"content\": \"!\", \"lstrip\": false}}");
        Files.writeString(tok.resolve("tokenizer_config.json"), "{\"model_max_length\": 8, \"pad_token\": \"<|endoftext|>\"}");
        ClipTokenizer bang = ClipTokenizer.load(tok);
        assertEquals(0, bang.padTokenId());
        assertEquals(8, bang.maxLength());
        assertArrayEquals(new int[] {BOS, 320, 2368, EOS, 0, 0, 0, 0}, bang.encode("a cat"));
        assertArrayEquals(new int[] {BOS, 2368, 2368, 2368, 2368, 2368, 2368, EOS}, bang.encode("cat ".repeat(9)));

        // without the optional files: CLIPTokenizer's defaults
        Path bare = copyTokenizer(dir.resolve("bare"));
        Files.delete(bare.resolve("special_tokens_map.json"));
        Files.delete(bare.resolve("tokenizer_config.json"));
        ClipTokenizer defaults = ClipTokenizer.load(bare);
        assertEquals(77, defaults.maxLength());
        assertEquals(EOS, defaults.padTokenId());
    }

    private static Path copyTokenizer(Path dir) throws IOException {
        Path to = Files.createDirectories(dir.resolve("tokenizer"));
        try (var files = Files.list(clipDir().resolve("tokenizer"))) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName().toString()));
                to.resolve(f.getFileName().toString()).toFile().setWritable(true);
            }
        }
        return to;
    }

    // ---- helpers --------------------------------------------------------------------------

    private static List<LogRecord> captureWarnings(Runnable action) {
        Logger logger = Logger.getLogger(ClipTokenizer.class.getName());
        List<LogRecord> records = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    records.add(record);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(handler);
        try {
            action.run();
        } finally {
            logger.removeHandler(handler);
        }
        return records;
    }

    private static String escape(String s) {
        StringBuilder out = new StringBuilder();
        s.codePoints().forEach(cp -> out.append(cp < 0x20 || cp > 0x7E ? String.format("\\u{%X}", cp) : Character.toString(cp)));
        return out.toString();
    }
}
