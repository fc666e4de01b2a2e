import { KindProvider, stderrLogger } from "@mlflow-k8s/cluster";
import { measureRuntime } from "./image-runtime.ts";
const p = new KindProvider({ log: stderrLogger("dbg") });
const t = await p.engine.ensure();
console.error("engine", JSON.stringify(t));
const r = await measureRuntime(t, [{ label: "ours", ref: "ghcr.io/mlflow-k8s/mlflow:3.17.2" }], (l) => console.error(l), 1);
console.log(JSON.stringify(r));
