package io.flinkglm.connectors.formats;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The Avro schema of each record type, read once from {@code /avro/<SimpleName>.avsc} on the classpath.
 *
 * <pre>{@code
 * Schema schema = RecordSchemas.of(Completion.class);
 * }</pre>
 */
@PublicEvolving
public final class RecordSchemas {

    private static final Map<Class<?>, Schema> SCHEMAS = new ConcurrentHashMap<>();

    private RecordSchemas() {}

    public static Schema of(Class<?> type) {
        return SCHEMAS.computeIfAbsent(type, RecordSchemas::load);
    }

    private static Schema load(Class<?> type) {
        String resource = "/avro/" + type.getSimpleName() + ".avsc";
        try (InputStream in = RecordSchemas.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no Avro schema for " + type.getName()
                        + ": add " + resource + " to connectors/src/main/resources");
            }
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}
