package io.flinkglm.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors files of a model directory, single or sharded, as one name-to-tensor map.
 *
 * <p>A sharded checkpoint is found through {@code model.safetensors.index.json}; every tensor the
 * index names must be in the shard it points at. Without an index, {@code model.safetensors} (or
 * else every {@code *.safetensors} file) is read.
 *
 * <pre>{@code
 * try (Checkpoint ckpt = Checkpoint.open(dir)) {
 *     SafetensorsFile.TensorInfo t = ckpt.info("lm_head.weight");
 * }
 * }</pre>
 */
@Internal
public final class Checkpoint implements AutoCloseable {
    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> owner;

    private Checkpoint(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> owner) {
        this.dir = dir;
        this.files = files;
        this.owner = owner;
    }

    public static Checkpoint open(Path dir) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            if (Files.isRegularFile(index)) {
                openSharded(dir, index, files, owner);
            } else {
                List<Path> paths = new ArrayList<>();
                if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
                    paths.add(dir.resolve("model.safetensors"));
                } else {
                    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
                        ds.forEach(paths::add);
                    }
                    paths.sort(null);
                }
                if (paths.isEmpty()) {
                    throw new ModelFormatException(dir,
                            "has no model.safetensors, model.safetensors.index.json or *.safetensors file");
                }
                for (Path p : paths) {
                    SafetensorsFile f = SafetensorsFile.open(p);
                    files.add(f);
                    f.tensors().keySet().forEach(name -> owner.put(name, f));
                }
            }
            checkEachTensorInOneFile(files);
        } catch (RuntimeException | IOException e) {
            for (SafetensorsFile f : files) {
                f.close();
            }
            throw e;
        }
        return new Checkpoint(dir, files, owner);
    }

    private static void openSharded(Path dir, Path index, List<SafetensorsFile> files,
                                    Map<String, SafetensorsFile> owner) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(index, "is not valid JSON: " + e.getMessage());
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new ModelFormatException(index, "has no \"weight_map\" object");
        }
        Map<String, SafetensorsFile> byFile = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String shardName = shardName(dir, index, e.getKey(), e.getValue());
            SafetensorsFile shard = byFile.get(shardName);
            if (shard == null) {
                Path shardPath = dir.resolve(shardName);
                if (!Files.isRegularFile(shardPath)) {
                    throw new ModelFormatException(index, "names shard " + shardName
                            + " for tensor " + e.getKey() + " but that file does not exist");
                }
                shard = SafetensorsFile.open(shardPath);
                files.add(shard);
                byFile.put(shardName, shard);
            }
            if (!shard.tensors().containsKey(e.getKey())) {
                throw new ModelFormatException(shard.path(), "lacks tensor " + e.getKey()
                        + " that model.safetensors.index.json places in it");
            }
            owner.put(e.getKey(), shard);
        }
    }

    /**
     * The shard an index entry names, which must be a plain file name inside the model directory:
     * an index is data from wherever the checkpoint came from, and {@code ../../x} or
     * {@code /etc/passwd} would make the loader read files the model does not own.
     */
    private static String shardName(Path dir, Path index, String tensor, JsonNode value) {
        if (!value.isTextual()) {
            throw new ModelFormatException(index, "places tensor " + tensor + " in " + value
                    + "; shard names must be strings");
        }
        String name = value.asText();
        Path base = dir.toAbsolutePath().normalize();
        Path resolved;
        try {
            resolved = base.resolve(name).normalize();
        } catch (java.nio.file.InvalidPathException ex) {
            throw new ModelFormatException(index, "places tensor " + tensor + " in \"" + name
                    + "\", which is not a file name");
        }
        if (name.isEmpty() || !resolved.getParent().equals(base) || !resolved.getFileName().toString().equals(name)) {
            throw new ModelFormatException(index, "places tensor " + tensor + " in \"" + name
                    + "\"; shards must be plain file names inside the model directory " + base);
        }
        return name;
    }

    /** A tensor in two files would be read from whichever came last: refuse rather than guess. */
    private static void checkEachTensorInOneFile(List<SafetensorsFile> files) {
        Map<String, SafetensorsFile> seen = new HashMap<>();
        for (SafetensorsFile f : files) {
            for (String name : f.tensors().keySet()) {
                SafetensorsFile other = seen.putIfAbsent(name, f);
                if (other != null) {
                    throw new ModelFormatException(f.path(), "holds tensor " + name + ", which "
                            + other.path().getFileName() + " also holds; a tensor must be in exactly one file");
                }
            }
        }
    }

    /** Every tensor name in the checkpoint. */
    public java.util.Set<String> names() {
        return java.util.Collections.unmodifiableSet(owner.keySet());
    }

    public Path dir() {
        return dir;
    }

    public boolean has(String name) {
        return owner.containsKey(name);
    }

    /** The file holding a tensor; a missing tensor names the directory and the tensor. */
    public SafetensorsFile fileOf(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) {
            throw new ModelFormatException(dir, "checkpoint has no tensor " + name);
        }
        return f;
    }

    public SafetensorsFile.TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    /** Total bytes of tensor data, for load progress. */
    public long dataBytes() {
        long n = 0;
        for (SafetensorsFile f : files) {
            for (SafetensorsFile.TensorInfo t : f.tensors().values()) {
                n += t.end() - t.begin();
            }
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        for (SafetensorsFile f : files) {
            f.close();
        }
    }
}
