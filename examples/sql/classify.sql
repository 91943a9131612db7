-- Batch classification with Flink SQL: each prompt's text gets one of the labels from a single prefill
-- (softmax over the labels' first tokens), written to glm.sql.labels exactly once.
-- Run: flink run -c io.flinkglm.examples.SqlJob flink-glm-examples.jar --file classify.sql \
--        --kafka.bootstrap-servers HOST:PORT --glm.model.path /models/glm-4-9b-chat-hf

SET 'execution.checkpointing.interval' = '5s';

CREATE TABLE prompts (
  request_id STRING,
  `text` STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'glm.prompts',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.group.id' = 'glm-sql-classify',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
);

CREATE TABLE labels (
  request_id STRING,
  label STRING,
  score DOUBLE,
  error STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'glm.sql.labels',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.transaction.timeout.ms' = '900000',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'glm-sql-classify',
  'format' = 'json'
);

-- Route prompts by intent; each label's first token must differ from the others' in the model's vocabulary.
CREATE TEMPORARY MODEL intent
  INPUT (`text` STRING)
  OUTPUT (label STRING, score DOUBLE, error STRING)
  WITH ('provider' = 'glm', 'model.path' = '${glm.model.path}', 'task' = 'classify',
        'labels' = 'question,request,greeting,complaint');

INSERT INTO labels
SELECT request_id, label, score, error
FROM ML_PREDICT(TABLE prompts, MODEL intent, DESCRIPTOR(`text`));
