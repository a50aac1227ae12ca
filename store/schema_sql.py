"""The SQL of the store's migrations, in order: ``store.migrations`` numbers and applies them.

Never edit a text that has shipped; add a new one (see ``store.migrations``).
"""

M001_CORE = """
CREATE TABLE hosts (
    host_id VARCHAR PRIMARY KEY,
    hostname VARCHAR,
    os VARCHAR,
    cpu_model VARCHAR,
    cpu_cores_logical INTEGER,
    cpu_cores_physical INTEGER,
    mem_total_mb DOUBLE,
    python_version VARCHAR,
    first_seen_at TIMESTAMP          -- UTC
);

CREATE TABLE devices (
    device_id VARCHAR PRIMARY KEY,
    host_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- 'cpu' | 'cuda'
    name VARCHAR,
    device_index INTEGER,
    memory_mb DOUBLE,
    compute_capability VARCHAR,
    driver_version VARCHAR,
    extra JSON
);

CREATE TABLE models (
    model_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    family VARCHAR,
    task VARCHAR,
    parent_model_id VARCHAR,          -- lineage: the model this variant came from
    transformation VARCHAR,           -- e.g. 'int8 dynamic quantization (onnxruntime)'
    params BIGINT,
    source VARCHAR,                   -- 'demo' | 'upload' | 'cli' | 'import'
    description VARCHAR,
    created_at TIMESTAMP             -- UTC
);

CREATE TABLE artifacts (
    sha256 VARCHAR PRIMARY KEY,
    format VARCHAR NOT NULL,          -- 'onnx' | 'torch-state' | 'pt2'
    path VARCHAR,
    size_bytes BIGINT,
    precision VARCHAR,
    builder VARCHAR,
    builder_kwargs JSON
);

CREATE TABLE datasets (
    dataset_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    split VARCHAR,
    n_samples INTEGER,
    sha256 VARCHAR,
    source VARCHAR,
    path VARCHAR
);

CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY,
    model_id VARCHAR NOT NULL,
    artifact_sha256 VARCHAR,
    host_id VARCHAR,
    device_id VARCHAR,
    device VARCHAR NOT NULL,          -- 'cpu' | 'cuda:N', as requested
    runtime VARCHAR NOT NULL,         -- 'ort' | 'torch'
    runtime_version VARCHAR,
    execution_provider VARCHAR,
    precision VARCHAR NOT NULL,
    batch_size INTEGER NOT NULL,
    threads INTEGER,
    dims JSON,
    input_shapes JSON,
    dataset_id VARCHAR,
    status VARCHAR NOT NULL,          -- 'ok' | 'failed'
    error VARCHAR,
    origin VARCHAR NOT NULL,          -- 'measured' | 'imported'
    job_id VARCHAR,
    started_at TIMESTAMP,             -- all timestamps are UTC
    finished_at TIMESTAMP,
    ingested_at TIMESTAMP,
    throughput_per_s DOUBLE,
    model_size_mb DOUBLE,
    params BIGINT,
    peak_mem_mb DOUBLE,
    baseline_mem_mb DOUBLE,
    mem_source VARCHAR,
    device_peak_reserved_mb DOUBLE,
    energy_j DOUBLE,                  -- NULL when unavailable: never a silent zero
    energy_j_per_item DOUBLE,
    avg_power_w DOUBLE,
    energy_source VARCHAR,
    energy_unavailable_reason VARCHAR,
    energy_window_s DOUBLE,
    provenance JSON,
    spec JSON NOT NULL
);

CREATE TABLE latency (
    run_id VARCHAR PRIMARY KEY,
    mean_ms DOUBLE,
    p50_ms DOUBLE,
    p90_ms DOUBLE,
    p99_ms DOUBLE,
    std_ms DOUBLE,
    min_ms DOUBLE,
    max_ms DOUBLE,
    ci_low_ms DOUBLE,                 -- 95% CI of the median
    ci_high_ms DOUBLE,
    n_iter INTEGER,
    warmup_iter INTEGER,
    total_time_s DOUBLE,
    stop_reason VARCHAR,
    timer VARCHAR,
    samples_ms DOUBLE[],
    quantiles_ms DOUBLE[]
);

CREATE TABLE accuracy (
    run_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,          -- 'top1' (fraction) | 'top5' | 'mae' | 'rmse'
    value DOUBLE NOT NULL,
    dataset_id VARCHAR,
    n_samples INTEGER,
    origin VARCHAR NOT NULL,          -- 'measured' | 'reported'
    note VARCHAR,
    PRIMARY KEY (run_id, metric)
);

CREATE INDEX runs_model_idx ON runs (model_id);
"""

M002_RUN_SUMMARY = """
CREATE OR REPLACE VIEW run_summary AS
SELECT
    r.run_id,
    m.name AS model,
    r.model_id,
    m.family,
    m.parent_model_id,
    m.transformation,
    m.source AS model_source,
    r.runtime,
    r.device,
    d.kind AS device_kind,
    d.name AS device_name,
    h.hostname AS host,
    r.host_id,
    r.precision,
    r.batch_size,
    r.threads,
    r.status,
    r.error,
    r.origin,
    r.runtime_version,
    r.execution_provider,
    r.job_id,
    r.started_at,
    r.finished_at,
    a.value AS accuracy,
    a.origin AS accuracy_origin,
    a.n_samples AS accuracy_n,
    a.dataset_id,
    l.p50_ms AS latency_ms_p50,
    l.p90_ms AS latency_ms_p90,
    l.p99_ms AS latency_ms_p99,
    l.mean_ms AS latency_ms_mean,
    l.std_ms AS latency_ms_std,
    l.ci_low_ms AS latency_ms_p50_ci_low,
    l.ci_high_ms AS latency_ms_p50_ci_high,
    l.n_iter AS latency_n_iter,
    l.stop_reason AS latency_stop_reason,
    r.throughput_per_s,
    r.peak_mem_mb,
    r.model_size_mb,
    r.params,
    r.energy_j_per_item,
    r.avg_power_w,
    r.energy_source,
    r.energy_unavailable_reason
FROM runs r
LEFT JOIN models m ON m.model_id = r.model_id
LEFT JOIN devices d ON d.device_id = r.device_id
LEFT JOIN hosts h ON h.host_id = r.host_id
LEFT JOIN latency l ON l.run_id = r.run_id
LEFT JOIN accuracy a ON a.run_id = r.run_id AND a.metric = 'top1';
"""

# No index on ``status``: DuckDB updates an indexed column as delete + insert,
# and the table stays small (one row per submitted job).
M003_JOBS = """
CREATE TABLE jobs (
    job_id VARCHAR PRIMARY KEY,
    seq BIGINT NOT NULL,              -- submission order: jobs run in this order
    kind VARCHAR NOT NULL,            -- 'profile' | 'demo'
    status VARCHAR NOT NULL,          -- 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
                                      -- | 'interrupted'
    title VARCHAR,                    -- what the job is, for people
    request JSON NOT NULL,            -- what to run (kind-specific)
    created_at TIMESTAMP NOT NULL,    -- all timestamps are UTC
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    updated_at TIMESTAMP,             -- last progress report
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER,           -- NULL until the job is planned
    label VARCHAR,                    -- the step in progress
    eta_s DOUBLE,                     -- estimated seconds left; NULL when unknown
    message VARCHAR,                  -- how it ended, or why it stopped
    runner_pid INTEGER,
    runner_host VARCHAR,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    run_ids JSON,                     -- the runs it stored
    runs_ok INTEGER,
    runs_failed INTEGER,
    error VARCHAR
);
"""

M004_SAVED_VIEWS = """
CREATE TABLE saved_views (
    view_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,            -- unique, checked in code (store.saved_views)
    description VARCHAR NOT NULL DEFAULT '',
    page VARCHAR NOT NULL,            -- the page's URL path: '' (Frontier), 'runs', ...
    query JSON NOT NULL,              -- the page's view as URL parameters: {key: [values]}
    pinned BOOLEAN NOT NULL,          -- TRUE: only run_ids; FALSE: follows live data
    run_ids JSON,                     -- pinned: the runs visible when it was saved
    created_at TIMESTAMP NOT NULL,    -- UTC
    updated_at TIMESTAMP NOT NULL
);
"""

# Migration 5 (issue 3): the same view with top-5 accuracy and the regression
# errors (MAE, RMSE) as columns appended at the end; only measured values
# (a reported number has its own origin and stays out of these columns).
M005_RUN_SUMMARY_QUALITY = """
CREATE OR REPLACE VIEW run_summary AS
SELECT
    r.run_id,
    m.name AS model,
    r.model_id,
    m.family,
    m.parent_model_id,
    m.transformation,
    m.source AS model_source,
    r.runtime,
    r.device,
    d.kind AS device_kind,
    d.name AS device_name,
    h.hostname AS host,
    r.host_id,
    r.precision,
    r.batch_size,
    r.threads,
    r.status,
    r.error,
    r.origin,
    r.runtime_version,
    r.execution_provider,
    r.job_id,
    r.started_at,
    r.finished_at,
    a.value AS accuracy,
    a.origin AS accuracy_origin,
    a.n_samples AS accuracy_n,
    a.dataset_id,
    l.p50_ms AS latency_ms_p50,
    l.p90_ms AS latency_ms_p90,
    l.p99_ms AS latency_ms_p99,
    l.mean_ms AS latency_ms_mean,
    l.std_ms AS latency_ms_std,
    l.ci_low_ms AS latency_ms_p50_ci_low,
    l.ci_high_ms AS latency_ms_p50_ci_high,
    l.n_iter AS latency_n_iter,
    l.stop_reason AS latency_stop_reason,
    r.throughput_per_s,
    r.peak_mem_mb,
    r.model_size_mb,
    r.params,
    r.energy_j_per_item,
    r.avg_power_w,
    r.energy_source,
    r.energy_unavailable_reason,
    a5.value AS accuracy_top5,
    amae.value AS mae,
    armse.value AS rmse
FROM runs r
LEFT JOIN models m ON m.model_id = r.model_id
LEFT JOIN devices d ON d.device_id = r.device_id
LEFT JOIN hosts h ON h.host_id = r.host_id
LEFT JOIN latency l ON l.run_id = r.run_id
LEFT JOIN accuracy a ON a.run_id = r.run_id AND a.metric = 'top1'
LEFT JOIN accuracy a5 ON a5.run_id = r.run_id AND a5.metric = 'top5' AND a5.origin = 'measured'
LEFT JOIN accuracy amae ON amae.run_id = r.run_id AND amae.metric = 'mae'
    AND amae.origin = 'measured'
LEFT JOIN accuracy armse ON armse.run_id = r.run_id AND armse.metric = 'rmse'
    AND armse.origin = 'measured';
"""

# Migration 6 (issue 11): one quantity per memory key, accuracy intervals and
# per-item correctness, repeats, and the columns that keep hosts and data sets
# apart. Stored rows are moved, never guessed: a GPU run whose figure was the
# host resident set keeps it under peak_host_mem_mb and loses peak_mem_mb with
# the reason; the accuracy interval follows from value and item count alone
# (Wilson, z for 95%; the same arithmetic as core.intervals, checked by a test).
M006_TRUST = """
ALTER TABLE hosts ADD COLUMN gpus JSON;
ALTER TABLE runs ADD COLUMN peak_host_mem_mb DOUBLE;
ALTER TABLE runs ADD COLUMN peak_mem_unavailable_reason VARCHAR;
ALTER TABLE runs ADD COLUMN repeats INTEGER;
ALTER TABLE latency ADD COLUMN ci_scope VARCHAR;
ALTER TABLE latency ADD COLUMN repeat_stats JSON;
ALTER TABLE accuracy ADD COLUMN ci_low DOUBLE;
ALTER TABLE accuracy ADD COLUMN ci_high DOUBLE;
ALTER TABLE accuracy ADD COLUMN item_correct VARCHAR;
ALTER TABLE accuracy ADD COLUMN items VARCHAR;

UPDATE runs SET mem_source = 'vmhwm' WHERE mem_source = 'VmHWM';
UPDATE runs SET mem_source = 'torch-allocator'
    WHERE mem_source = 'torch.cuda.max_memory_allocated';
UPDATE runs SET peak_host_mem_mb = peak_mem_mb WHERE mem_source IN ('vmhwm', 'ru_maxrss');
UPDATE runs SET peak_mem_mb = NULL, mem_source = NULL,
    peak_mem_unavailable_reason = 'device memory was not measured: this run was recorded '
        || 'before Paretoscope measured device memory for this runtime, and its figure was '
        || 'the host process''s resident set (now in peak_host_mem_mb)'
    WHERE device <> 'cpu' AND mem_source IN ('vmhwm', 'ru_maxrss');
UPDATE runs SET repeats = 1;
UPDATE latency SET ci_scope = 'within-process';
UPDATE accuracy SET
    ci_low = greatest(0.0, (p + zz / (2 * n) - 1.959963984540054
        * sqrt(p * (1 - p) / n + zz / (4 * n * n))) / (1 + zz / n)),
    ci_high = least(1.0, (p + zz / (2 * n) + 1.959963984540054
        * sqrt(p * (1 - p) / n + zz / (4 * n * n))) / (1 + zz / n))
FROM (
    SELECT run_id AS rid, metric AS met, round(value * n_samples) / n_samples AS p,
        n_samples::DOUBLE AS n, 1.959963984540054 * 1.959963984540054 AS zz
    FROM accuracy
    WHERE metric IN ('top1', 'top5') AND origin = 'measured' AND n_samples > 0
        AND value BETWEEN 0 AND 1
) w
WHERE accuracy.run_id = w.rid AND accuracy.metric = w.met;

CREATE OR REPLACE VIEW run_summary AS
SELECT
    r.run_id,
    m.name AS model,
    r.model_id,
    m.family,
    m.parent_model_id,
    m.transformation,
    m.source AS model_source,
    r.runtime,
    r.device,
    d.kind AS device_kind,
    d.name AS device_name,
    CASE WHEN hc.n > 1 THEN h.hostname || ' (' || left(h.host_id, 6) || ')'
        ELSE h.hostname END AS host,
    r.host_id,
    r.precision,
    r.batch_size,
    r.threads,
    r.status,
    r.error,
    r.origin,
    r.runtime_version,
    r.execution_provider,
    r.job_id,
    r.started_at,
    r.finished_at,
    a.value AS accuracy,
    a.origin AS accuracy_origin,
    a.n_samples AS accuracy_n,
    a.dataset_id,
    l.p50_ms AS latency_ms_p50,
    l.p90_ms AS latency_ms_p90,
    l.p99_ms AS latency_ms_p99,
    l.mean_ms AS latency_ms_mean,
    l.std_ms AS latency_ms_std,
    l.ci_low_ms AS latency_ms_p50_ci_low,
    l.ci_high_ms AS latency_ms_p50_ci_high,
    l.n_iter AS latency_n_iter,
    l.stop_reason AS latency_stop_reason,
    r.throughput_per_s,
    r.peak_mem_mb,
    r.model_size_mb,
    r.params,
    r.energy_j_per_item,
    r.avg_power_w,
    r.energy_source,
    r.energy_unavailable_reason,
    a5.value AS accuracy_top5,
    amae.value AS mae,
    armse.value AS rmse,
    r.peak_host_mem_mb,
    r.mem_source AS peak_mem_source,
    ds.name || ' (' || ds.split || ', ' || coalesce(a.n_samples, ds.n_samples) || ' items'
        || CASE WHEN a.items IS NOT NULL AND a.n_samples <> ds.n_samples
            THEN ' ' || a.items ELSE '' END
        || ', ' || left(ds.sha256, 8) || ')' AS dataset,
    l.stop_reason,
    r.repeats,
    a.ci_low AS accuracy_ci_low,
    a.ci_high AS accuracy_ci_high,
    r.peak_mem_unavailable_reason,
    l.ci_scope AS latency_ci_scope,
    ds.name AS dataset_name,
    ds.sha256 AS dataset_sha256,
    a.items AS accuracy_items,
    h.hostname,
    r.dims
FROM runs r
LEFT JOIN models m ON m.model_id = r.model_id
LEFT JOIN devices d ON d.device_id = r.device_id
LEFT JOIN hosts h ON h.host_id = r.host_id
LEFT JOIN (SELECT hostname, count(*) AS n FROM hosts GROUP BY hostname) hc
    ON hc.hostname = h.hostname
LEFT JOIN datasets ds ON ds.dataset_id = r.dataset_id
LEFT JOIN latency l ON l.run_id = r.run_id
LEFT JOIN accuracy a ON a.run_id = r.run_id AND a.metric = 'top1'
LEFT JOIN accuracy a5 ON a5.run_id = r.run_id AND a5.metric = 'top5' AND a5.origin = 'measured'
LEFT JOIN accuracy amae ON amae.run_id = r.run_id AND amae.metric = 'mae'
    AND amae.origin = 'measured'
LEFT JOIN accuracy armse ON armse.run_id = r.run_id AND armse.metric = 'rmse'
    AND armse.origin = 'measured';
"""

# Migration 7 (issue 12): who submitted a job (an e-mail with an identity
# provider, "token profiler" or "local" without one); NULL for older jobs.
M007_JOB_SUBMITTER = """
ALTER TABLE jobs ADD COLUMN submitted_by VARCHAR;
"""

# Migration 8 (issue 14): what a serving user pays. Load time, the cold first
# run and end-to-end latency (inputs from host memory, outputs back) as run
# columns; the whole end-to-end LatencyStats in latency_e2e. The view is
# migration 6's with the new columns appended (NULL for older runs).
_M006_VIEW = M006_TRUST[M006_TRUST.index("CREATE OR REPLACE VIEW run_summary") :]
_M006_VIEW_TAIL = "    r.dims\nFROM runs r\n"
_SERVING_COLUMNS = """    r.dims,
    r.load_ms,
    r.first_run_ms,
    r.latency_e2e_ms_p50,
    r.latency_e2e_ms_p90,
    r.latency_e2e_ms_p99,
    r.latency_e2e_ms_p50_ci_low,
    r.latency_e2e_ms_p50_ci_high,
    r.serving_unavailable_reason
FROM runs r
"""
assert _M006_VIEW.count(_M006_VIEW_TAIL) == 1
M008_SERVING = """
ALTER TABLE runs ADD COLUMN load_ms DOUBLE;
ALTER TABLE runs ADD COLUMN first_run_ms DOUBLE;
ALTER TABLE runs ADD COLUMN latency_e2e_ms_p50 DOUBLE;
ALTER TABLE runs ADD COLUMN latency_e2e_ms_p90 DOUBLE;
ALTER TABLE runs ADD COLUMN latency_e2e_ms_p99 DOUBLE;
ALTER TABLE runs ADD COLUMN latency_e2e_ms_p50_ci_low DOUBLE;
ALTER TABLE runs ADD COLUMN latency_e2e_ms_p50_ci_high DOUBLE;
ALTER TABLE runs ADD COLUMN serving_unavailable_reason VARCHAR;
ALTER TABLE runs ADD COLUMN latency_e2e JSON;

""" + _M006_VIEW.replace(_M006_VIEW_TAIL, _SERVING_COLUMNS)
# Migration 9 (issue 14): per-operator profiles (``--op-profile``), one row per
# operator of a run's profile, rank 1 the most time. The last row may stand
# for the rest of the operators (``n_ops`` > 1), so a run's shares sum to 1.
M009_OP_PROFILES = """
CREATE TABLE op_profiles (
    run_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,            -- 1 = the most time
    op VARCHAR NOT NULL,              -- op type or name, from the user's model: plain text
    calls BIGINT,                     -- over the profiled pass
    total_ms DOUBLE,                  -- over the profiled pass
    share DOUBLE,                     -- fraction of all operator time of the pass
    n_ops INTEGER NOT NULL,           -- 1; more for the row that stands for the rest
    profiler VARCHAR,                 -- which profiler and which time
    iterations INTEGER,               -- inferences in the profiled pass
    PRIMARY KEY (run_id, rank)
);
"""
