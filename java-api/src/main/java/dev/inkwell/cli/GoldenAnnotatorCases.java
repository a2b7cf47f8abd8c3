package dev.inkwell.cli;

import dev.inkwell.AlphaMode;
import dev.inkwell.ControlNetAnnotator;
import dev.inkwell.Image;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Golden cases of the annotator manifest ({@code golden/annotator/manifest.json}, its
 * {@code cases} list): each drawing read with its alpha, run through
 * {@link ControlNetAnnotator#annotate}, and both the resized image and the control map
 * compared with OpenCV's, every pixel. The manifest's {@code definition} is prose, no cases.
 */
final class GoldenAnnotatorCases {
    /** The manifest keys this class answers for. */
    static final Set<String> KINDS = Set.of("cases", "definition");

    private final GoldenCases g;

    GoldenAnnotatorCases(GoldenCases cases) {
        this.g = cases;
    }

    List<GoldenCases.Case> expand(String kind, Object entries) {
        List<GoldenCases.Case> out = new ArrayList<>();
        if (kind.equals("definition")) {
            return out;
        }
        for (Object o : (List<?>) entries) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = GoldenCases.text(c, "name");
            out.add(new GoldenCases.Case("annotator", name, () -> check(c, name)));
        }
        return out;
    }

    private GoldenCases.Result check(Map<?, ?> c, String name) throws IOException {
        String match = String.valueOf(c.get("match"));
        if (!match.equals("exact")) {
            return new GoldenCases.Result(false, "annotator", name, "unsupported match '" + match + "'");
        }
        int resolution = (int) GoldenCases.number(c, "resolution"), channels = (int) GoldenCases.number(c, "input_channels");
        String resizedFile = GoldenCases.text(c, "resized"), expected = GoldenCases.text(c, "expected");
        try (Image drawing = g.input(Image.read(g.golden.resolve(GoldenCases.text(c, "input")), AlphaMode.KEEP));
                Image wantResized = Image.read(g.golden.resolve(resizedFile));
                Image want = Image.read(g.golden.resolve(expected))) {
            if (drawing.channels() != channels) {
                return new GoldenCases.Result(false, "annotator", name, "input has " + drawing.channels()
                        + " channels, manifest says " + channels);
            }
            long start = System.nanoTime();
            try (ControlNetAnnotator.Annotation a = new ControlNetAnnotator(g.inkwell).annotate(drawing, resolution,
                    GoldenCases.number(c, "low"), GoldenCases.number(c, "high"))) {
                double ms = (System.nanoTime() - start) / 1e6;
                g.save(a.resized(), resizedFile);
                g.save(a.control(), expected);
                GoldenCases.Result resized = GoldenCases.compareImages("annotator", name, a.resized(), wantResized, 0, ms);
                if (!resized.passed()) {
                    return new GoldenCases.Result(false, "annotator", name, "resized image: " + resized.detail());
                }
                return GoldenCases.compareImages("annotator", name, a.control(), want, 0, ms);
            }
        }
    }
}
