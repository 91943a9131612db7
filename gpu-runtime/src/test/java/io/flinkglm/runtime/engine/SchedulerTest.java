package io.flinkglm.runtime.engine;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SchedulerTest {
    private long nextId;

    private Sequence sequence(int promptLength, int priority) {
        GenerationRequest r = GenerationRequest.builder("r" + nextId, ReferenceGeneration.prompt(nextId, promptLength, 256))
                .priority(priority).sampling(SamplingParams.builder().maxTokens(100).build()).build();
        return new Sequence(nextId++, r, null, 0);
    }

    /** Pretends the model ran the step: advances the sequences and appends a token where one was sampled. */
    private static void ran(Scheduler scheduler, SchedulerOutput step) {
        scheduler.update(step);
        for (SchedulerOutput.Chunk c : step.chunks()) {
            if (c.sample() != null) {
                scheduler.get(c.sequenceId()).append(7);
            }
        }
    }

    private static List<Long> ids(SchedulerOutput step) {
        return step.chunks().stream().map(SchedulerOutput.Chunk::sequenceId).toList();
    }

    @Test
    void decodesGoFirstAndALongPromptIsChunkedIntoTheRemainingBudget() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 4, true), 8, 16);
        Sequence a = sequence(4, 0);
        s.add(a);
        ran(s, s.schedule(0));
        Sequence b = sequence(20, 0);
        s.add(b);

        SchedulerOutput step = s.schedule(0);

        assertThat(ids(step)).containsExactly(a.id, b.id);
        assertThat(step.chunks().get(0).tokens()).hasSize(1);
        assertThat(step.chunks().get(1).tokens()).hasSize(7);
        assertThat(step.chunks().get(1).sample()).isNull(); // mid-prompt: nothing to sample yet
        ran(s, step);
        SchedulerOutput next = s.schedule(0);
        assertThat(ids(next)).containsExactly(a.id, b.id);
        assertThat(next.chunks().get(1).startPosition()).isEqualTo(7);
    }

    @Test
    void noMoreThanMaxRunningSequencesRunAtOnce() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 4, true), 100, 2);
        for (int i = 0; i < 4; i++) {
            s.add(sequence(3, 0));
        }

        SchedulerOutput step = s.schedule(0);

        assertThat(step.chunks()).hasSize(2);
        assertThat(s.waitingCount()).isEqualTo(2);
    }

    @Test
    void lowerPriorityValuesAreAdmittedFirstAndFcfsWithinAPriority() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 4, true), 100, 2);
        Sequence late = sequence(3, 1);
        Sequence urgentFirst = sequence(3, 0);
        Sequence urgentSecond = sequence(3, 0);
        s.add(late);
        s.add(urgentFirst);
        s.add(urgentSecond);

        assertThat(ids(s.schedule(0))).containsExactly(urgentFirst.id, urgentSecond.id);
    }

    @Test
    void anExhaustedPoolPreemptsTheLowestPriorityLatestArrivalAndRequeuesItFirst() {
        KvBlockManager blocks = new KvBlockManager(4, 4, false);
        Scheduler s = new Scheduler(blocks, 100, 8);
        Sequence first = sequence(4, 0);
        Sequence second = sequence(4, 0);
        Sequence third = sequence(4, 0);
        s.add(first);
        s.add(second);
        s.add(third);
        ran(s, s.schedule(0)); // 3 of 4 blocks used; each sequence now needs a 2nd block for its 5th token

        SchedulerOutput step = s.schedule(0);

        assertThat(step.preemptions()).isEqualTo(1);
        assertThat(ids(step)).containsExactly(first.id, second.id);
        assertThat(third.preempted).isTrue();
        assertThat(third.numComputed).isZero();
        assertThat(third.length).isEqualTo(5); // generated token kept, to be prefilled again
        assertThat(step.rejections()).isEmpty();
        assertThat(blocks.usedBlocks()).isEqualTo(4);
    }

    @Test
    void aRequestLargerThanThePoolIsRejectedNotDeadlocked() {
        Scheduler s = new Scheduler(new KvBlockManager(4, 4, true), 100, 8);
        Sequence huge = sequence(17, 0);
        Sequence small = sequence(3, 0);
        s.add(huge);
        s.add(small);

        SchedulerOutput step = s.schedule(0);

        assertThat(step.rejections()).extracting(SchedulerOutput.Rejection::sequenceId).containsExactly(huge.id);
        assertThat(step.rejections().get(0).message()).contains("17 tokens", "4 blocks");
        assertThat(ids(step)).containsExactly(small.id);
    }

    @Test
    void aWaitingPromptStartsFromItsCachedPrefix() {
        KvBlockManager blocks = new KvBlockManager(16, 4, true);
        Scheduler s = new Scheduler(blocks, 100, 8);
        Sequence a = sequence(10, 0);
        s.add(a);
        ran(s, s.schedule(0));
        int[] longer = ReferenceGeneration.concat(a.tokens(0, 10), new int[] {1, 2, 3});
        Sequence b = new Sequence(nextId++, GenerationRequest.builder("b", longer).build(), null, 0);
        s.add(b);

        SchedulerOutput step = s.schedule(0);

        SchedulerOutput.Chunk chunk = step.chunks().get(1);
        assertThat(chunk.startPosition()).isEqualTo(8);
        assertThat(chunk.tokens()).hasSize(5);
        assertThat(b.cachedPromptTokens).isEqualTo(8);
    }
}
