-- Chat over the prompts topic with Flink SQL: each prompt answered by GLM-4 inside the TaskManager,
-- the answers written to glm.sql.answers exactly once (Kafka transactions committed on checkpoints).
-- Run: flink run -c io.flinkglm.examples.SqlJob flink-glm-examples.jar --file chat.sql \
--        --kafka.bootstrap-servers HOST:PORT --glm.model.path /models/glm-4-9b-chat-hf
-- or locally: bin/demo --sql examples/sql/chat.sql --input examples/data/prompts.jsonl --output /tmp/chat.jsonl

SET 'execution.checkpointing.interval' = '5s';

CREATE TABLE prompts (
  request_id STRING,
  conversation_id STRING,
  `text` STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'glm.prompts',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.group.id' = 'glm-sql-chat',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset',      -- drop this line to keep answering new prompts
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
);

CREATE TABLE answers (
  request_id STRING,
  response STRING,
  finish_reason STRING,
  completion_tokens INT,
  error STRING
) WITH (
  'connector' = 'kafka',
  'topic' = 'glm.sql.answers',
  'properties.bootstrap.servers' = '${kafka.bootstrap-servers}',
  'properties.transaction.timeout.ms' = '900000',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'glm-sql-chat',
  'format' = 'json'
);

-- A row without text (a messages-only prompt, a malformed line) gets NULL outputs and its error, not a failure.
CREATE TEMPORARY MODEL glm4
  INPUT (prompt STRING)
  OUTPUT (response STRING, finish_reason STRING, completion_tokens INT, error STRING)
  WITH (
    'provider' = 'glm',
    'model.path' = '${glm.model.path}',
    'task' = 'chat',
    'system-prompt' = 'Answer briefly.',
    'max-tokens' = '24',
    'temperature' = '0.8',
    'seed' = '7'
  );

CREATE TEMPORARY VIEW chat_prompts AS SELECT request_id, `text` AS prompt FROM prompts;

INSERT INTO answers
SELECT request_id, response, finish_reason, completion_tokens, error
FROM ML_PREDICT(TABLE chat_prompts, MODEL glm4, DESCRIPTOR(prompt));
