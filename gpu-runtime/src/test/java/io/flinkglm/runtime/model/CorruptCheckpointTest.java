package io.flinkglm.runtime.model;

import io.flinkglm.runtime.backend.Backends;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    @Test
    void weightsThatComputeNanFailTheProbeForwardNamingTheDirectory() throws IOException {
        Path file = dir.resolve("model.safetensors");
        long begin;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            begin = f.info("model.norm.weight").begin();
        }
        ByteBuffer nan = ByteBuffer.allocate(64 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        while (nan.hasRemaining()) {
            nan.putFloat(Float.NaN);
        }
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(nan.flip(), begin);
        }
        Glm4Model model = Glm4Model.load(dir); // the file itself is well-formed

        assertThatThrownBy(() -> Backends.create("cpu", model))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(dir.toAbsolutePath().toString())
                .hasMessageContaining("probe forward")
                .hasMessageContaining("NaN");
    }

    @Test
    void headerLengthOneByteShortIsRejectedNotReadOneByteOff() throws IOException {
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, b.getLong(0) - 1);
        Files.write(file, bytes);

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("safetensors header");
    }

    @Test
    void headerLengthOneByteLongIsRejected() throws IOException {
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, b.getLong(0) + 1);
        bytes[8 + (int) b.getLong(0) - 1] = 0x3f; // the first data byte, now inside the header: not a space

        assertThatThrownBy(() -> { Files.write(file, bytes); Glm4Model.load(dir); })
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("space padding");
    }

    @Test
    void trailingGarbageAfterTheHeaderJsonIsRejected() throws IOException {
        rewriteHeader(h -> withoutMetadata(h).stripTrailing() + "garbage");

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("space padding");
    }

    @Test
    void aGapBetweenTensorsIsRejected() throws IOException {
        // Drop the first tensor (the embedding) from the header: its bytes become an unused gap.
        rewriteHeader(h -> h.replaceFirst("\"model.embed_tokens.weight\":\\{[^}]*},", ""));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("unused");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"\"1024\"", "1024.5", "-4"})
    void offsetsThatAreNotNonNegativeIntegersAreRejected(String badValue) throws IOException {
        rewriteHeader(h -> withoutMetadata(h).replaceFirst(
                "(\"model.norm.weight\":\\{[^}]*\"data_offsets\":\\[)(\\d+)", "$1" + badValue));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("model.norm.weight")
                .hasMessageContaining("data_offsets entry " + badValue)
                .hasMessageContaining("non-negative JSON integer");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"\"64\"", "64.0", "64.5"})
    void shapesThatAreNotIntegersAreRejected(String badValue) throws IOException {
        rewriteHeader(h -> withoutMetadata(h).replace("\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[64]",
                "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[" + badValue + "]"));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.norm.weight")
                .hasMessageContaining("shape entry " + badValue);
    }

    @Test
    void shapeOverflowingALongNamesFileAndTensor() throws IOException {
        rewriteHeader(h -> withoutMetadata(h).replace("\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[64]",
                "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296]"));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("model.norm.weight")
                .hasMessageContaining("64-bit");
    }

    @Test
    void aTensorNamedTwiceInOneHeaderIsRejected() throws IOException {
        rewriteHeader(h -> withoutMetadata(h).replace("\"lm_head.weight\"", "\"model.norm.weight\""));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("model.norm.weight")
                .hasMessageContaining("Duplicate field");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"\"rope_theta\" : 0.0", "\"rope_theta\" : -10000.0", "\"rope_theta\" : 1e999",
            "\"rope_theta\" : \"10000\"", "\"rms_norm_eps\" : -1e-5", "\"rms_norm_eps\" : 1.0",
            "\"rms_norm_eps\" : 1e999", "\"partial_rotary_factor\" : 1e999", "\"eos_token_id\" : [ \"2\" ]",
            "\"eos_token_id\" : [ 5000 ]", "\"eos_token_id\" : [ -1 ]", "\"hidden_size\" : 64.5"})
    void numericConfigFieldsOfTheWrongTypeOrRangeAreNamed(String entry) throws IOException {
        String key = entry.substring(1, entry.indexOf('"', 1));
        editConfig(c -> c.replaceFirst("\"" + key + "\" : [^,\\n]*", java.util.regex.Matcher.quoteReplacement(entry)));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("config.json")
                .hasMessageContaining(key);
    }

    @Test
    void layersBeyondNumHiddenLayersAreNamed() throws IOException {
        editConfig(c -> c.replace("\"num_hidden_layers\" : 2", "\"num_hidden_layers\" : 1"));

        assertThatThrownBy(() -> Glm4Model.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("model.layers.1.")
                .hasMessageContaining("num_hidden_layers is 1");
    }

    @Test
    void aTensorInTwoFilesNamesBoth() throws IOException {
        Path twice = dir.resolve("twice");
        for (String file : new String[] {"a.safetensors", "b.safetensors"}) {
            SafetensorsWriter w = new SafetensorsWriter();
            w.declare("model.norm.weight", DType.F32, 4);
            w.write(Files.createDirectories(twice).resolve(file), (name, sink) -> sink.floats(new float[4]));
        }

        assertThatThrownBy(() -> Checkpoint.open(twice))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("a.safetensors")
                .hasMessageContaining("b.safetensors")
                .hasMessageContaining("model.norm.weight");
    }

    @Test
    void aTensorInTwoShardsOfAnIndexNamesBoth() throws IOException {
        Path sharded = dir.resolve("sharded");
        RandomCheckpoint.write(sharded, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 3, 1, null);
        SafetensorsWriter w = new SafetensorsWriter();
        w.declare("extra.bias", DType.F32, 4);
        w.declare("model.norm.weight", DType.F32, 64);
        w.write(sharded.resolve("model-extra.safetensors"), (name, sink) -> sink.floats(new float[name.equals("extra.bias") ? 4 : 64]));
        Path index = sharded.resolve("model.safetensors.index.json");
        Files.writeString(index, Files.readString(index).replace("\"weight_map\" : {",
                "\"weight_map\" : {\n    \"extra.bias\" : \"model-extra.safetensors\","));

        assertThatThrownBy(() -> Glm4Model.load(sharded))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model-extra.safetensors")
                .hasMessageContaining("model-00003-of-00003.safetensors")
                .hasMessageContaining("model.norm.weight");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"../../other/model-00002-of-00003.safetensors", "/etc/passwd",
            "sub/../model-00002-of-00003.safetensors", "./model-00002-of-00003.safetensors"})
    void shardIndexEntriesOutsideTheModelDirectoryAreRejected(String shard) throws IOException {
        Path sharded = dir.resolve("sharded");
        RandomCheckpoint.write(sharded, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 3, 1, null);
        Path index = sharded.resolve("model.safetensors.index.json");
        Files.writeString(index, Files.readString(index).replace("\"model-00002-of-00003.safetensors\"",
                "\"" + shard + "\""));

        assertThatThrownBy(() -> Glm4Model.load(sharded))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.safetensors.index.json")
                .hasMessageContaining(shard)
                .hasMessageContaining("plain file names inside the model directory");
    }

    private void editConfig(java.util.function.UnaryOperator<String> edit) throws IOException {
        Path config = dir.resolve("config.json");
        String before = Files.readString(config);
        String after = edit.apply(before);
        assertThat(after).as("the edit must change config.json").isNotEqualTo(before);
        Files.writeString(config, after);
    }

    /** The header without its metadata entry, which frees room for a longer edit. */
    private static String withoutMetadata(String header) {
        return header.replace("\"__metadata__\":{\"format\":\"pt\"},", "");
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
