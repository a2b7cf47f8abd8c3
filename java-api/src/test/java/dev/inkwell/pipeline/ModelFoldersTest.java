package dev.inkwell.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The folder checks on a tiny SD folder assembled from the golden models (links in a temp dir). */
class ModelFoldersTest {
    @TempDir
    Path tmp;
    Path sd;
    Path cn;

    private static Path models() {
        return Golden.dir().resolve("models");
    }

    @BeforeEach
    void assemble() throws IOException {
        sd = tmp.resolve("sd");
        Files.createDirectories(sd.resolve("scheduler"));
        for (String[] link : new String[][] {{"unet", "unet"}, {"vae", "vae"}, {"text_encoder", "clip/text_encoder"},
            {"tokenizer", "clip/tokenizer"}}) {
            Files.createSymbolicLink(sd.resolve(link[0]), models().resolve(link[1]).toAbsolutePath());
        }
        Files.writeString(sd.resolve("scheduler/scheduler_config.json"), "{\"_class_name\": \"DDIMScheduler\","
                + " \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012}");
        Files.writeString(sd.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionPipeline", "text_encoder": ["transformers", "CLIPTextModel"],
                 "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                 "vae": ["diffusers", "AutoencoderKL"], "scheduler": ["diffusers", "DDIMScheduler"]}""");
        cn = tmp.resolve("cn");
        Files.createSymbolicLink(cn, models().resolve("controlnet").toAbsolutePath());
    }

    @Test
    void theTinyModelsFit() throws IOException {
        ModelFolders f = ModelFolders.check(sd, cn);
        assertEquals(32, f.textEncoder().hiddenSize());
        assertEquals(32, f.unet().crossAttentionDim());
        assertEquals(4, f.vae().latentChannels());
        assertTrue(f.notes().isEmpty(), f.notes().toString());
        assertNull(ModelFolders.variant(sd.resolve("unet")));
    }

    @Test
    void everyProblemIsOneLineNamingFileAndField() throws IOException {
        Files.delete(sd.resolve("tokenizer"));
        Files.writeString(sd.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionXLPipeline\"}");
        Files.writeString(sd.resolve("scheduler/scheduler_config.json"), "{\"use_karras_sigmas\": true}");
        IOException e = assertThrows(IOException.class, () -> ModelFolders.check(sd, cn));
        String m = e.getMessage();
        assertTrue(m.contains("tokenizer/vocab.json: no such file"), m);
        assertTrue(m.contains("tokenizer/merges.txt: no such file"), m);
        assertTrue(m.contains("model_index.json: _class_name \"StableDiffusionXLPipeline\""), m);
        assertTrue(m.contains("model_index.json: field unet"), m);
        assertTrue(m.contains("scheduler_config.json: field use_karras_sigmas"), m);
        long problems = m.lines().count() - 1;
        assertTrue(m.lines().findFirst().orElseThrow().endsWith("(" + problems + " problems):"), m);
        IOException none = assertThrows(IOException.class, () -> ModelFolders.check(tmp.resolve("absent"), cn));
        assertTrue(none.getMessage().contains("absent: no such folder"), none.getMessage());
    }

    @Test
    void onlyAnFp16VariantIsFound() throws IOException {
        Path vae = tmp.resolve("vae16");
        Files.createDirectories(vae);
        assertNull(ModelFolders.variant(vae));
        Files.createSymbolicLink(vae.resolve("diffusion_pytorch_model.fp16.safetensors"),
                models().resolve("vae/diffusion_pytorch_model.safetensors").toAbsolutePath());
        assertEquals("fp16", ModelFolders.variant(vae));
        Files.createSymbolicLink(vae.resolve("diffusion_pytorch_model.safetensors"),
                models().resolve("vae/diffusion_pytorch_model.safetensors").toAbsolutePath());
        assertNull(ModelFolders.variant(vae), "the plain file first, as diffusers without variant=");
    }
}
