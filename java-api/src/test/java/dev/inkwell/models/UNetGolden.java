package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The golden/models unet and controlnet cases, shared by the U-Net and ControlNet tests. */
final class UNetGolden {
    private UNetGolden() {}

    static Path modelsDir() {
        return Golden.dir().resolve("models");
    }

    /** The cases of one manifest key by name, in manifest order. */
    static Map<String, Map<?, ?>> cases(String kind) throws IOException {
        Map<?, ?> manifest = (Map<?, ?>) dev.inkwell.cli.Json.parse(
                Files.readString(modelsDir().resolve("manifest.json")));
        Map<String, Map<?, ?>> out = new LinkedHashMap<>();
        for (Object o : (List<?>) manifest.get(kind)) {
            Map<?, ?> c = (Map<?, ?>) o;
            out.put((String) c.get("name"), c);
        }
        assertTrue(!out.isEmpty(), "no golden " + kind + " cases");
        return out;
    }

    static Tensor npy(Map<?, ?> c, String key) throws IOException {
        return Tensor.readNpy(modelsDir().resolve((String) c.get(key)));
    }

    static List<Tensor> npys(Map<?, ?> c, String key) throws IOException {
        List<Tensor> out = new ArrayList<>();
        try {
            for (Object f : (List<?>) c.get(key)) {
                out.add(Tensor.readNpy(modelsDir().resolve((String) f)));
            }
        } catch (IOException | RuntimeException e) {
            out.forEach(Tensor::close);
            throw e;
        }
        return out;
    }

    static double atol(Map<?, ?> c) {
        return (Double) ((Map<?, ?>) c.get("tolerance")).get("atol");
    }

    static double rtol(Map<?, ?> c) {
        return (Double) ((Map<?, ?>) c.get("tolerance")).get("rtol");
    }

    /**
     * |got - want| &lt;= atol + rtol |want| everywhere; prints the worst error and ratio.
     *
     * @return the worst |got - want|
     */
    static double assertClose(String what, Tensor got, Tensor want, double atol, double rtol) {
        assertArrayEquals(want.shape(), got.shape(), what + " shape");
        float[] g = got.toArray(), w = want.toArray();
        assertEquals(w.length, g.length, what + " element count");
        double worst = 0, worstRatio = 0;
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < g.length; i++) {
            double err = Math.abs((double) g[i] - w[i]), allowed = atol + rtol * Math.abs(w[i]);
            worst = Math.max(worst, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
            worstRatio = Math.max(worstRatio, err / allowed);
            if (!(err <= allowed) && bad.size() < 10) {
                bad.add("[" + i + "] " + g[i] + " vs " + w[i]);
            }
        }
        System.out.printf("%s: max |err| %.3g, worst err/allowed %.3f (atol %.3g, rtol %.3g)%n", what, worst,
                worstRatio, atol, rtol);
        assertTrue(bad.isEmpty(), what + " out of tolerance: " + bad);
        return worst;
    }

    /** A copy of a golden model folder with every weight stored as float16. */
    static Path float16Copy(String model, Path tmp) throws IOException {
        Path src = modelsDir().resolve(model);
        Path dir = Files.createDirectories(tmp.resolve(model + "16"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        try (SafeTensors st = SafeTensors.open(src)) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String name : new java.util.TreeSet<>(st.names())) {
                w.f16(name, st.tensor(name).toArray(), st.info(name).shape());
            }
            w.write(dir.resolve("diffusion_pytorch_model.safetensors"));
        }
        return dir;
    }
}
