/**
 * MLflow REST shapes, as they are on the wire (snake_case), so they read like MLflow's
 * REST API documentation. int64 fields arrive as JSON numbers.
 */
export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
export type LifecycleStage = "active" | "deleted";
export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";

export interface Tag {
  key: string;
  value: string;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: LifecycleStage;
  last_update_time?: number;
  creation_time?: number;
  tags?: Tag[];
}

export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: LifecycleStage;
}

export interface Metric {
  key: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

export interface Param {
  key: string;
  value: string;
}

export interface RunData {
  metrics?: Metric[];
  params?: Param[];
  tags?: Tag[];
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs?: unknown;
  outputs?: unknown;
}

export interface FileInfo {
  /** Path relative to the run's artifact root (the client prefixes the listed directory). */
  path: string;
  is_dir?: boolean;
  file_size?: number;
}

export interface Page<T> {
  items: T[];
  /** Pass to the next call; undefined on the last page. */
  nextPageToken: string | undefined;
}

export interface Batch {
  metrics?: Metric[];
  params?: Param[];
  tags?: Tag[];
}
