package io.flinkglm.connectors.registry;

import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Where a schema registry is and how to log in to it, with Confluent's semantics: HTTP basic auth whose
 * credentials come either from the URL's userinfo ({@link CredentialsSource#URL}, the default, as
 * {@code basic.auth.credentials.source=URL}) or from {@code user:password} ({@link CredentialsSource#USER_INFO},
 * as {@code basic.auth.user.info}); and optionally a truststore for an HTTPS registry whose certificate the
 * JVM's default trust does not cover.
 *
 * <p>Serializable, so sources and sinks carry it to the tasks. Neither {@link #toString()} nor any error
 * message built from {@link #displayUrl()} shows a password.
 *
 * <pre>{@code
 * SchemaRegistryConfig registry = SchemaRegistryConfig.of("https://registry:8081")
 *     .withUserInfo("svc-glm:s3cret")
 *     .withTruststore("/etc/glm/registry-ca.p12", "changeit", "PKCS12");
 * }</pre>
 *
 * @param url base URL, {@code http(s)://[user:password@]host:port[/path]}
 * @param credentialsSource where the basic-auth credentials come from
 * @param userInfo {@code user:password} for {@link CredentialsSource#USER_INFO}; null otherwise
 * @param truststoreLocation a keystore file of trusted certificates; null for the JVM's default trust
 * @param truststorePassword the truststore's password; nullable
 * @param truststoreType the truststore's {@link java.security.KeyStore} type, e.g. PKCS12 or JKS
 */
@PublicEvolving
public record SchemaRegistryConfig(
        String url,
        CredentialsSource credentialsSource,
        String userInfo,
        String truststoreLocation,
        String truststorePassword,
        String truststoreType)
        implements Serializable {

    /** Confluent's {@code basic.auth.credentials.source} values this client supports. */
    public enum CredentialsSource {
        /** The userinfo of the URL, {@code https://user:password@registry:8081}; none if the URL has none. */
        URL,
        /** {@code basic.auth.user.info}, {@code user:password}. */
        USER_INFO
    }

    public static final String DEFAULT_TRUSTSTORE_TYPE = "PKCS12";

    public SchemaRegistryConfig {
        URI uri = parse(url);
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("schema registry url must be http(s)://host:port, not " + redact(uri));
        }
        Objects.requireNonNull(credentialsSource, "credentials source");
        if (credentialsSource == CredentialsSource.USER_INFO && (userInfo == null || userInfo.indexOf(':') < 0)) {
            throw new IllegalArgumentException("schema registry basic-auth credentials source USER_INFO needs"
                    + " user info as user:password (glm.kafka.schema-registry.basic-auth.user-info)");
        }
        if (credentialsSource == CredentialsSource.URL && userInfo != null) {
            throw new IllegalArgumentException("schema registry basic-auth user info is set but the credentials source"
                    + " is URL, so it would be ignored: set glm.kafka.schema-registry.basic-auth.credentials-source"
                    + " to USER_INFO");
        }
        if (truststoreLocation == null && truststorePassword != null) {
            throw new IllegalArgumentException("schema registry truststore password is set but no truststore location"
                    + " (glm.kafka.schema-registry.ssl.truststore.location)");
        }
        truststoreType = truststoreType == null ? DEFAULT_TRUSTSTORE_TYPE : truststoreType;
    }

    /** The registry at {@code url}, credentials from the URL's userinfo if it has any, the JVM's default trust. */
    public static SchemaRegistryConfig of(String url) {
        return new SchemaRegistryConfig(url, CredentialsSource.URL, null, null, null, null);
    }

    /** Basic auth as {@code user:password}, Confluent's {@code basic.auth.user.info}. */
    public SchemaRegistryConfig withUserInfo(String userInfo) {
        return new SchemaRegistryConfig(url, CredentialsSource.USER_INFO, userInfo, truststoreLocation,
                truststorePassword, truststoreType);
    }

    /** Trusts the certificates in the keystore file at {@code location} instead of the JVM's default ones. */
    public SchemaRegistryConfig withTruststore(String location, String password, String type) {
        return new SchemaRegistryConfig(url, credentialsSource, userInfo,
                Objects.requireNonNull(location, "truststore location"), password, type);
    }

    /** The URL requests go to: without userinfo, ending in {@code /} so paths resolve below it. */
    public URI requestUrl() {
        URI uri = parse(url);
        try {
            String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            return new URI(uri.getScheme() + "://" + uri.getRawAuthority().substring(userInfoEnd(uri))
                    + (path.endsWith("/") ? path : path + "/"));
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("schema registry url " + displayUrl() + " is not valid: " + e.getMessage(), e);
        }
    }

    /** The URL as errors and logs show it: the userinfo is left out. */
    public String displayUrl() {
        return redact(parse(url));
    }

    /** {@code user:password} for the Authorization header, or null when requests go without credentials. */
    String basicAuthUserInfo() {
        if (credentialsSource == CredentialsSource.USER_INFO) {
            return userInfo;
        }
        String fromUrl = parse(url).getUserInfo(); // decoded: %40 in the URL is @ in the password
        return fromUrl == null || fromUrl.isEmpty() ? null : fromUrl;
    }

    /** The name in the credentials, for error messages; never the password. */
    String basicAuthUser() {
        String userInfo = basicAuthUserInfo();
        return userInfo == null ? null : userInfo.substring(0, Math.max(0, userInfo.indexOf(':')));
    }

    @Override
    public String toString() {
        return "SchemaRegistryConfig[url=" + displayUrl() + ", credentialsSource=" + credentialsSource
                + ", user=" + basicAuthUser() + ", truststore=" + truststoreLocation + " (" + truststoreType + ")]";
    }

    private static URI parse(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("schema registry url must not be null or blank");
        }
        try {
            return new URI(url);
        } catch (URISyntaxException e) {
            // the input may hold a password, so the message does not repeat it
            throw new IllegalArgumentException("schema registry url is not a valid URL at index " + e.getIndex()
                    + ": " + e.getReason());
        }
    }

    private static String redact(URI uri) {
        String authority = uri.getRawAuthority();
        if (authority == null) {
            return uri.getScheme() + ":" + "(no host)";
        }
        return uri.getScheme() + "://" + authority.substring(userInfoEnd(uri))
                + (uri.getRawPath() == null ? "" : uri.getRawPath());
    }

    private static int userInfoEnd(URI uri) {
        return uri.getRawUserInfo() == null ? 0 : uri.getRawUserInfo().length() + 1;
    }
}
