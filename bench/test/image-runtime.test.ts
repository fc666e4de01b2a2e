import { describe, expect, it } from "vitest";
import { workerRss } from "../src/image-runtime.ts";

describe("workerRss", () => {
  it("takes the uvicorn workers' RSS (KiB in docker top) and leaves out the parent, the supervisor and the resource tracker", () => {
    const top = [
      "PID                 RSS                 COMMAND",
      "4242                207804              /opt/mlflow/bin/python /opt/mlflow/bin/mlflow-entrypoint server --workers 2",
      "4242                25716               /opt/mlflow/bin/python3 -m uvicorn --host 127.0.0.1 --workers 2 mlflow.server.fastapi_app:app",
      "4242                11500               /opt/mlflow/bin/python3 -B -c from multiprocessing.resource_tracker import main;main(6)",
      "4242                202668              /opt/mlflow/bin/python3 -B -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=7, pipe_handle=9) --multiprocessing-fork",
      "4242                202344              /opt/mlflow/bin/python3 -B -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=7, pipe_handle=13) --multiprocessing-fork",
    ].join("\n");
    expect(workerRss(top)).toEqual([202668 * 1024, 202344 * 1024]);
  });
});
