package io.flinkglm.connectors.registry;

import java.io.IOException;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The registry answered, and said no: a 4xx answer other than 408 and 429 (401/403 credentials or
 * permissions, 404 not found, 409 incompatible, 422 invalid or read-only). Unlike an outage, asking again
 * gets the same answer, so a caller may treat it as permanent.
 *
 * <pre>{@code
 * catch (SchemaRegistryRefusalException e) { if (e.status() == 409) explainIncompatibility(e.registryMessage()); }
 * }</pre>
 */
@PublicEvolving
public class SchemaRegistryRefusalException extends IOException {

    private final int status;
    private final int errorCode;
    private final String registryMessage;

    /**
     * @param status the HTTP status
     * @param errorCode Confluent's {@code error_code} from the body, or the status when the body has none
     * @param registryMessage Confluent's {@code message} from the body, or the body itself
     */
    public SchemaRegistryRefusalException(String message, int status, int errorCode, String registryMessage) {
        super(message);
        this.status = status;
        this.errorCode = errorCode;
        this.registryMessage = registryMessage;
    }

    public int status() {
        return status;
    }

    public int errorCode() {
        return errorCode;
    }

    /** What the registry said, e.g. its list of incompatibilities for a 409. */
    public String registryMessage() {
        return registryMessage;
    }
}
