package io.flinkglm.runtime.model;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every defect in a checkpoint gives one message naming the file and the problem. */
class CorruptCheckpointTest {
    @TempDir
    Path dir;

    @BeforeEach
    void writeTinyModel() throws IOException {
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 1, 1, null);
    }

    @Test
    void intactCheckpointLoads() throws IOException {
        assertThat(Glm4Model.load(dir).weights().layers()).hasSize(2);
    }

    @Test
    void truncatedFileNamesTheTensorBeyondTheEnd() throws IOException {
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 1000));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("lm_head.weight")
                .hasMessageContaining("truncated");
    }

    @Test
    void headerLengthBeyondTheFileIsReportedNotAllocated() throws IOException {
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE / 2);
        Files.write(file, bytes);

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("header length");
    }

    @Test
    void overlappingTensorsAreRejected() throws IOException {
        rewriteHeader(h -> h.replaceFirst("\"data_offsets\":\\[(\\d+),(\\d+)]", "\"data_offsets\":[0,$2]")
                .replaceFirst("(\"model.layers.0.input_layernorm.weight\":\\{[^}]*\"data_offsets\":\\[)(\\d+),(\\d+)]",
                        "$10,256]"));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("overlap");
    }

    @Test
    void shapeThatDisagreesWithTheDataIsRejected() throws IOException {
        rewriteHeader(h -> h.replace("\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[64]",
                "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[65]"));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.norm.weight")
                .hasMessageContaining("bytes");
    }

    @Test
    void unsupportedDtypeIsNamed() throws IOException {
        rewriteHeader(h -> h.replace("\"model.norm.weight\":{\"dtype\":\"F32\"",
                "\"model.norm.weight\":{\"dtype\":\"I32\""));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("I32")
                .hasMessageContaining("model.norm.weight");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        rewriteHeader(h -> h.replace("\"lm_head.weight\"", "\"lm_hexd.weight\""));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("lm_head.weight");
    }

    @Test
    void shapeThatDisagreesWithConfigIsNamed() throws IOException {
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\" : 128", "\"intermediate_size\" : 96"));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("gate_up_proj")
                .hasMessageContaining("config.json implies");
    }

    @Test
    void malformedConfigIsNamed() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 64,");

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("config.json")
                .hasMessageContaining("not valid JSON");
    }

    @Test
    void configWithoutARequiredKeyNamesIt() throws IOException {
        Files.writeString(dir.resolve("config.json"),
                Files.readString(dir.resolve("config.json")).replace("\"num_hidden_layers\"", "\"layers\""));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("config.json")
                .hasMessageContaining("num_hidden_layers");
    }

    @Test
    void shardIndexNamingAMissingFileIsReported() throws IOException {
        Path sharded = dir.resolve("sharded");
        RandomCheckpoint.write(sharded, RandomCheckpoint.preset("tiny", DType.BF16), DType.BF16, 3, 1, null);
        Files.delete(sharded.resolve("model-00002-of-00003.safetensors"));

        assertThatThrownBy(() -> Glm4Model.load(sharded))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors.index.json")
                .hasMessageContaining("model-00002-of-00003.safetensors");
    }

    @Test
    void directoryWithoutWeightsSaysSo() throws IOException {
        Files.delete(dir.resolve("model.safetensors"));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("no model.safetensors");
    }

    /** Rewrites the JSON header in place, keeping its length so the data offsets stay valid. */
    private void rewriteHeader(java.util.function.UnaryOperator<String> edit) throws IOException {
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        int len = (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(bytes, 8, len, StandardCharsets.UTF_8);
        String edited = edit.apply(header);
        assertThat(edited).as("the edit must change the header").isNotEqualTo(header);
        byte[] e = edited.getBytes(StandardCharsets.UTF_8);
        assertThat(e.length).isLessThanOrEqualTo(len);
        Arrays.fill(bytes, 8, 8 + len, (byte) ' ');
        System.arraycopy(e, 0, bytes, 8, e.length);
        Files.write(file, bytes);
    }
}
