package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.ModelWeights;

import java.util.ArrayList;
import java.util.List;

/**
 * A model's weights as the CPU kernels read them: the same tensors as {@link ModelWeights}, every
 * matrix in {@link PanelMatrix}'s panels, the vectors as the model holds them. Built matrix by
 * matrix, each one taking over its row-major data (see {@link PanelMatrix#of}), so loading a
 * model onto the CPU never holds more than one matrix twice.
 */
record CpuWeights(
        PanelMatrix embed,         // [vocab, hidden]
        List<Layer> layers,
        float[] finalNorm,         // [hidden]
        PanelMatrix lmHead) {      // [vocab, hidden]

    record Layer(
            float[] inputNorm,     // [hidden]
            PanelMatrix qkv,       // [qDim + 2 * kvDim, hidden]
            float[] qkvBias,       // [qDim + 2 * kvDim]
            PanelMatrix o,         // [hidden, qDim]
            float[] postNorm,      // [hidden]
            PanelMatrix gateUp,    // [2 * intermediate, hidden], gate rows first
            PanelMatrix down) {    // [hidden, intermediate]
    }

    static CpuWeights of(ModelWeights w) {
        List<Layer> layers = new ArrayList<>();
        for (ModelWeights.Layer l : w.layers()) {
            layers.add(new Layer(l.inputNorm(), PanelMatrix.of(l.qkv()), l.qkvBias(), PanelMatrix.of(l.o()),
                    l.postNorm(), PanelMatrix.of(l.gateUp()), PanelMatrix.of(l.down())));
        }
        return new CpuWeights(PanelMatrix.of(w.embed()), List.copyOf(layers), w.finalNorm(), PanelMatrix.of(w.lmHead()));
    }
}
