package io.flinkglm.connectors.formats;

import java.io.IOException;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A writer cannot get a schema to write with, and asking the registry again would get the same answer: it
 * refused the credentials or the registration, the subject lacks the schema, or the schema it holds is
 * incompatible. The message names the subject and says what to do. A sink that gets it at start fails its
 * job without restarts (see {@code WireRecordSerializationSchema}).
 *
 * <pre>{@code
 * try { serde.prepareToWrite(); } catch (WriterSchemaException e) { throw new SuppressRestartsException(e); }
 * }</pre>
 */
@PublicEvolving
public final class WriterSchemaException extends IOException {

    public WriterSchemaException(String message, Throwable cause) {
        super(message, cause);
    }
}
