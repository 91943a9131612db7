package io.flinkglm.operator;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import org.apache.flink.annotation.Internal;

/**
 * One tenant's budget, {@code limit} tokens per tumbling window of {@code windowMs}, windows aligned to the epoch;
 * and the arithmetic that decides which window pays for a turn. Pure: the decision depends on the ledger, the turn's
 * tokens and its record timestamp only, never on wall time, so a replay in the same input order decides the same.
 *
 * <p>Turns are charged in order: no turn is charged to a window before the one the tenant's previous turn was
 * charged to, and a record with a timestamp older than the tenant's newest is charged from the newest window (the
 * tenant's window clock never goes back). So a tenant's turns keep their order and old windows can be forgotten.
 *
 * <pre>{@code
 * TokenBudget budget = new TokenBudget(1000, 60_000);             // 1,000 tokens a minute
 * BudgetLedger ledger = new BudgetLedger();
 * BudgetDecision d = budget.charge(ledger, "acme", 300, recordTimestamp, OverBudget.DEFER);
 * }</pre>
 */
@Internal
public record TokenBudget(long limit, long windowMs) {

    public TokenBudget {
        if (limit < 1 || windowMs < 1) {
            throw new IllegalArgumentException("a token budget needs a positive limit and window, got " + limit
                    + " tokens per " + windowMs + " ms");
        }
    }

    /** The start of the window holding {@code timestampMs}: windows tumble from the epoch. */
    public long windowOf(long timestampMs) {
        return Math.floorDiv(timestampMs, windowMs) * windowMs;
    }

    /**
     * Charges a turn of {@code tokens} to {@code ledger}, or says why not; the ledger changes only for a charged turn
     * (and its window clock for any record with a timestamp).
     *
     * @param tenant      named in a rejection's reason
     * @param timestampMs the record's timestamp, or {@code null} for a record without one (charged from the
     *     tenant's current window)
     */
    public BudgetDecision charge(BudgetLedger ledger, String tenant, long tokens, Long timestampMs,
                                 GlmOptions.OverBudget policy) {
        long current = timestampMs != null ? windowOf(timestampMs) : 0;
        if (ledger.clock != BudgetLedger.NEVER) {
            current = Math.max(current, ledger.clock);
        }
        ledger.advanceTo(current);
        if (tokens > limit) {
            return BudgetDecision.rejected("budget_exceeded: the turn needs " + tokens + " tokens, more than tenant "
                    + tenant + "'s whole budget of " + limit + " per " + window());
        }
        long window = ledger.tail == BudgetLedger.NEVER ? current : Math.max(current, ledger.tail);
        if (ledger.used(window) + tokens > limit && policy == GlmOptions.OverBudget.REJECT) {
            return BudgetDecision.rejected("budget_exceeded: tenant " + tenant + " used " + ledger.used(window) + " of " + limit
                    + " tokens in the " + window() + " window from " + Instant.ofEpochMilli(window) + "; the turn needs "
                    + tokens);
        }
        while (ledger.used(window) + tokens > limit) {
            window += windowMs; // terminates: only windows holding a charge can be full, and there are finitely many
        }
        ledger.add(window, tokens);
        return window == current ? BudgetDecision.admitted(window) : BudgetDecision.deferred(window);
    }

    private String window() {
        Duration d = Duration.ofMillis(windowMs);
        return d.toString().substring(2).toLowerCase(); // PT1H -> 1h, PT10M -> 10m
    }

    /** What became of one turn: charged to {@code window} now or later, or a dead letter's {@code reason}. */
    public record BudgetDecision(Outcome outcome, long window, String reason) {
        public enum Outcome { ADMITTED, DEFERRED, REJECTED }

        static BudgetDecision admitted(long window) {
            return new BudgetDecision(Outcome.ADMITTED, window, null);
        }

        static BudgetDecision deferred(long window) {
            return new BudgetDecision(Outcome.DEFERRED, window, null);
        }

        static BudgetDecision rejected(String reason) {
            return new BudgetDecision(Outcome.REJECTED, Long.MIN_VALUE, reason);
        }
    }

    /**
     * One tenant's account in keyed state: the windows from its clock on that hold charges. A Flink POJO. Windows
     * before the clock are dropped, so it holds the current window and the later ones deferred turns booked.
     */
    public static class BudgetLedger {
        static final long NEVER = Long.MIN_VALUE;

        /** The tenant's current window: the newest its records' timestamps reached. */
        public long clock = NEVER;
        /** The window the tenant's last turn was charged to; the next is charged to it or a later one. */
        public long tail = NEVER;
        /** Window starts holding charges, ascending, none before {@code clock}.  [n] */
        public long[] windows = new long[0];
        /** Tokens charged to each window.                                      [n] */
        public long[] used = new long[0];

        public BudgetLedger() {}

        long used(long window) {
            int i = Arrays.binarySearch(windows, window);
            return i >= 0 ? used[i] : 0;
        }

        void advanceTo(long window) {
            clock = window;
            int keep = 0;
            while (keep < windows.length && windows[keep] < window) {
                keep++;
            }
            if (keep > 0) {
                windows = Arrays.copyOfRange(windows, keep, windows.length);
                used = Arrays.copyOfRange(used, keep, used.length);
            }
        }

        void add(long window, long tokens) {
            tail = window;
            int i = Arrays.binarySearch(windows, window);
            if (i >= 0) {
                used[i] += tokens;
                return;
            }
            int at = -i - 1;
            long[] w = new long[windows.length + 1];
            long[] u = new long[used.length + 1];
            System.arraycopy(windows, 0, w, 0, at);
            System.arraycopy(used, 0, u, 0, at);
            w[at] = window;
            u[at] = tokens;
            System.arraycopy(windows, at, w, at + 1, windows.length - at);
            System.arraycopy(used, at, u, at + 1, used.length - at);
            windows = w;
            used = u;
        }

        @Override
        public String toString() {
            return "BudgetLedger{clock=" + clock + ", tail=" + tail + ", windows=" + Arrays.toString(windows)
                    + ", used=" + Arrays.toString(used) + "}";
        }
    }
}
