package io.flinkglm.runtime.constraint;

import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.annotation.Internal;

import java.util.Arrays;

/**
 * The byte strings of a vocabulary's ordinary tokens as a trie, so a token mask is one walk that
 * leaves a whole subtree out the moment its prefix cannot continue the output: over GLM-4's 151k
 * tokens most subtrees die in their first byte or two. Special tokens and ids without bytes (the
 * padding rows of the embedding) are left out: no constraint ever allows them.
 *
 * <pre>{@code
 * TokenTrie trie = TokenTrie.of(tokenizer, model.config().vocabSize());
 * }</pre>
 */
@Internal
public final class TokenTrie {
    private final int vocabSize;  // ids 0 .. vocabSize-1, the logits' length
    private int nodes = 1;        // node 0 is the root
    private byte[] label = new byte[1024];       // [nodes] the byte that leads into the node
    private int[] firstChild = new int[1024];    // [nodes] 0: none
    private int[] nextSibling = new int[1024];   // [nodes] 0: none
    private int[] token = new int[1024];         // [nodes] a token whose bytes end here, -1: none
    private final int[] sameBytes;               // [vocabSize] the next token with identical bytes, -1: none

    private TokenTrie(int vocabSize) {
        this.vocabSize = vocabSize;
        this.sameBytes = new int[vocabSize];
        Arrays.fill(sameBytes, -1);
        token[0] = -1;
    }

    /** The trie of {@code tokenizer}'s ordinary tokens; ids from its size up to {@code vocabSize} have no bytes. */
    public static TokenTrie of(Glm4Tokenizer tokenizer, int vocabSize) {
        TokenTrie t = new TokenTrie(vocabSize);
        for (int id = 0; id < Math.min(vocabSize, tokenizer.vocabSize()); id++) {
            if (!tokenizer.isSpecial(id)) {
                t.add(id, tokenizer.tokenBytes(id));
            }
        }
        return t;
    }

    /** For tests: a trie over explicit byte strings (null or empty: never allowed). */
    static TokenTrie of(byte[][] tokens) {
        TokenTrie t = new TokenTrie(tokens.length);
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null) {
                t.add(id, tokens[id]);
            }
        }
        return t;
    }

    public int vocabSize() {
        return vocabSize;
    }

    int nodeCount() {
        return nodes;
    }

    private void add(int id, byte[] bytes) {
        if (bytes.length == 0) {
            return; // would leave the output unchanged forever: never a useful choice
        }
        int at = 0;
        for (byte b : bytes) {
            at = child(at, b, true);
        }
        if (token[at] < 0) {
            token[at] = id;
        } else {
            sameBytes[id] = sameBytes[token[at]];
            sameBytes[token[at]] = id;
        }
    }

    private int child(int parent, byte b, boolean create) {
        for (int c = firstChild[parent]; c != 0; c = nextSibling[c]) {
            if (label[c] == b) {
                return c;
            }
        }
        if (!create) {
            return -1;
        }
        if (nodes == label.length) {
            int n = nodes * 2;
            label = Arrays.copyOf(label, n);
            firstChild = Arrays.copyOf(firstChild, n);
            nextSibling = Arrays.copyOf(nextSibling, n);
            token = Arrays.copyOf(token, n);
        }
        int c = nodes++;
        label[c] = b;
        token[c] = -1;
        nextSibling[c] = firstChild[parent];
        firstChild[parent] = c;
        return c;
    }

    /** A step function of a byte automaton: the state after byte {@code b}, or a negative value for none. */
    interface Step {
        int next(int state, int b);
    }

    /**
     * Clears in {@code mask} every token whose byte string dies on a walk from {@code start}, where a walk
     * that reaches state {@code free} (which takes any bytes) leaves its whole subtree as the mask has it.
     * Given the mask of {@code free}, this yields the mask of {@code start} while visiting only the
     * subtrees that do not become free: for a tool call that may also be an answer, the few tokens that
     * follow a tool's name, instead of the whole vocabulary.
     */
    void refine(int start, Step step, int free, long[] mask) {
        int[] nodeStack = new int[64];
        int[] stateStack = new int[64];
        int top = 0;
        nodeStack[top] = 0;
        stateStack[top++] = start;
        while (top > 0) {
            int node = nodeStack[--top];
            int state = stateStack[top];
            for (int c = firstChild[node]; c != 0; c = nextSibling[c]) {
                int next = step.next(state, label[c] & 0xFF);
                if (next == free) {
                    continue;
                }
                if (next < 0) {
                    clearSubtree(c, mask);
                    continue;
                }
                if (firstChild[c] != 0) {
                    if (top == nodeStack.length) {
                        nodeStack = Arrays.copyOf(nodeStack, top * 2);
                        stateStack = Arrays.copyOf(stateStack, top * 2);
                    }
                    nodeStack[top] = c;
                    stateStack[top++] = next;
                }
            }
        }
    }

    private void clearSubtree(int root, long[] mask) {
        int[] stack = new int[64];
        int top = 0;
        stack[top++] = root;
        while (top > 0) {
            int node = stack[--top];
            for (int id = token[node]; id >= 0; id = sameBytes[id]) {
                mask[id >>> 6] &= ~(1L << id);
            }
            for (int c = firstChild[node]; c != 0; c = nextSibling[c]) {
                if (top == stack.length) {
                    stack = Arrays.copyOf(stack, top * 2);
                }
                stack[top++] = c;
            }
        }
    }

    /**
     * Sets in {@code mask} every token whose whole byte string walks from {@code start} without dying.
     * Depth-first with an explicit stack: a subtree is visited only while its prefix lives.
     */
    void allowed(int start, Step step, long[] mask) {
        int[] nodeStack = new int[64];
        int[] stateStack = new int[64];
        int top = 0;
        nodeStack[top] = 0;
        stateStack[top++] = start;
        while (top > 0) {
            int node = nodeStack[--top];
            int state = stateStack[top];
            for (int c = firstChild[node]; c != 0; c = nextSibling[c]) {
                int next = step.next(state, label[c] & 0xFF);
                if (next < 0) {
                    continue;
                }
                for (int id = token[c]; id >= 0; id = sameBytes[id]) {
                    mask[id >>> 6] |= 1L << id;
                }
                if (firstChild[c] != 0) {
                    if (top == nodeStack.length) {
                        nodeStack = Arrays.copyOf(nodeStack, top * 2);
                        stateStack = Arrays.copyOf(stateStack, top * 2);
                    }
                    nodeStack[top] = c;
                    stateStack[top++] = next;
                }
            }
        }
    }
}
