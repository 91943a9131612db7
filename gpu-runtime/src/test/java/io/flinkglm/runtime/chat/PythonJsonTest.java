package io.flinkglm.runtime.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Python json.dumps(ensure_ascii=False, indent=4) output, as the template's tojson writes it. */
class PythonJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void floatsUsePythonRepr() {
        assertThat(PythonJson.pythonFloatRepr(25.0)).isEqualTo("25.0");
        assertThat(PythonJson.pythonFloatRepr(0.1)).isEqualTo("0.1");
        assertThat(PythonJson.pythonFloatRepr(0.0001)).isEqualTo("0.0001");
        assertThat(PythonJson.pythonFloatRepr(0.00001)).isEqualTo("1e-05");
        assertThat(PythonJson.pythonFloatRepr(1e16)).isEqualTo("1e+16");
        assertThat(PythonJson.pythonFloatRepr(1e15)).isEqualTo("1000000000000000.0");
        assertThat(PythonJson.pythonFloatRepr(-2.5e-7)).isEqualTo("-2.5e-07");
        assertThat(PythonJson.pythonFloatRepr(123456.789)).isEqualTo("123456.789");
        assertThat(PythonJson.pythonFloatRepr(1.5e300)).isEqualTo("1.5e+300");
        assertThat(PythonJson.pythonFloatRepr(-0.0)).isEqualTo("-0.0");
    }

    @Test
    void stringsEscapeLikePython() throws IOException {
        String dumped = PythonJson.dumpsIndented(JSON.readTree("\"a\\\"b\\\\c\\n\\t\\u001f\\u007f é 中 😀 \\u2028\""));

        assertThat(dumped).isEqualTo("\"a\\\"b\\\\c\\n\\t\\u001f\u007f é 中 😀 \u2028\"");
    }

    @Test
    void nestingIndentsByFourAndKeepsKeyOrder() throws IOException {
        String dumped = PythonJson.dumpsIndented(JSON.readTree("{\"z\": [1, {\"b\": true, \"a\": null}], \"y\": {}, \"x\": [],"
                + " \"big\": 123456789012345678901234567890}"));

        assertThat(dumped).isEqualTo("{\n    \"z\": [\n        1,\n        {\n            \"b\": true,\n            \"a\": null\n"
                + "        }\n    ],\n    \"y\": {},\n    \"x\": [],\n    \"big\": 123456789012345678901234567890\n}");
    }
}
