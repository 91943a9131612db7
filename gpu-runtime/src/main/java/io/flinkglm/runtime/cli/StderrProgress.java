package io.flinkglm.runtime.cli;

import io.flinkglm.runtime.model.LoadProgress;

/**
 * Progress of long loads and writes on stderr, at most once per whole percent, so a 9B load on a
 * laptop shows it is alive without flooding a log.
 */
final class StderrProgress implements LoadProgress {
    /** Loads that finish in a blink are not worth a progress line. */
    private static final long QUIET_BELOW = 64L << 20;

    private final String what;
    private int lastPercent = -1;

    StderrProgress(String what) {
        this.what = what;
    }

    @Override
    public void loaded(long done, long total) {
        if (total < QUIET_BELOW) {
            return;
        }
        int percent = total == 0 ? 100 : (int) (100 * done / total);
        if (percent >= lastPercent + 5 || (percent == 100 && lastPercent != 100)) {
            lastPercent = percent;
            System.err.printf("%s: %3d%% (%,d MB of %,d MB)%n", what, percent, done >> 20, total >> 20);
        }
    }
}
