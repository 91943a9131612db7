-- Moderation with Flink SQL: every prompt's text scored by GLM-4's safety classifier (one prefill, no
-- decoding), the verdicts written to glm.sql.verdicts exactly once.
-- Run: flink run -c io.flinkglm.examples.SqlJob flink-glm-examples.jar --file moderation.sql \
--        --kafka.bootstrap-servers HOST:PORT --glm.model.path /models/glm-4-9b-chat-hf

SET 'execution.checkpointing.interval' = '5s';

CREATE TABLE prompts (
  request_id STRING,
  `text` STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'glm.prompts',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.group.id' = 'glm-sql-moderation',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
);

CREATE TABLE verdicts (
  request_id STRING,
  flagged BOOLEAN,
  categories ARRAY<STRING>,
  scores MAP<STRING, DOUBLE>,
  error STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'glm.sql.verdicts',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.transaction.timeout.ms' = '900000',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'glm-sql-moderation',
  'format' = 'json'
);

CREATE TEMPORARY MODEL guard
  INPUT (`text` STRING)
  OUTPUT (flagged BOOLEAN, categories ARRAY<STRING>, scores MAP<STRING, DOUBLE>, error STRING)
  WITH ('provider' = 'glm', 'model.path' = '${glm.model.path}', 'task' = 'moderate');

INSERT INTO verdicts
SELECT request_id, flagged, categories, scores, error
FROM ML_PREDICT(TABLE prompts, MODEL guard, DESCRIPTOR(`text`));
