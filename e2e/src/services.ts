#!/usr/bin/env node
/**
 * The host services of `./dev up` as one long-lived process: PostgreSQL and the
 * GCS emulator stay up until this process gets SIGTERM (from `./dev down`), then
 * stop by PID. The DB password arrives on stdin, never on the command line; the
 * addresses are written to the state file given as the only argument.
 */
import { writeFileSync } from "node:fs";
import { startGcsEmulator, startPostgres, stopAllProcesses } from "@mlflow-k8s/testbed";
import { BUCKET } from "./context.ts";

const [stateFile, host] = process.argv.slice(2);
if (!stateFile || !host) {
  process.stderr.write("usage: services.ts <state-file> <host-address> (password on stdin)\n");
  process.exit(2);
}
let password = "";
for await (const chunk of process.stdin) password += chunk.toString();
const db = await startPostgres({ host, database: "mlflow", user: "mlflow", password });
const gcs = await startGcsEmulator({ host, bucket: BUCKET });
writeFileSync(stateFile, JSON.stringify({ pid: process.pid, db: { host, port: db.connection.port, database: "mlflow", user: "mlflow" }, gcs: { url: gcs.url, bucket: BUCKET } }));

const stop = async () => {
  await db.destroy();
  await gcs.destroy();
  await stopAllProcesses();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
setInterval(() => undefined, 1 << 30);
