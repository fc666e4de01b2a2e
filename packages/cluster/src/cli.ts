/**
 * Local cluster CLI (debugging and CI):
 *   node packages/cluster/src/cli.ts up | down [--keep-dir] | status | load-image <ref>
 *                                    | build-image <context-dir> <tag> [--build-arg K=V ...] [--file Dockerfile]
 *                                    | base-image | env
 * Every step logs its duration. Needs root. State: MLFLOW_K8S_LOCAL_DIR (default
 * ~/.cache/mlflow-k8s/local-cluster).
 */
import { LocalProvider } from "./providers/local.ts";
import { stderrLogger, step } from "./log.ts";

const log = stderrLogger("local-cluster");
const provider = new LocalProvider({ log });

function usage(): never {
  console.error(
    "usage: cli.ts up | down [--keep-dir] | status | load-image <ref> | build-image <dir> <tag> [--build-arg K=V]... [--file F] | base-image | env",
  );
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const t0 = performance.now();
  switch (cmd) {
    case "up": {
      const versions = await provider.toolVersions();
      log(`tools: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join("; ")}`);
      const info = await provider.up();
      console.log(JSON.stringify(info, null, 2));
      break;
    }
    case "down":
      await provider.down({ keepDir: rest.includes("--keep-dir") });
      break;
    case "status": {
      const st = provider.readState();
      const procs = provider.status();
      console.log(JSON.stringify({ dir: provider.paths.dir, up: !!st?.info, info: st?.info ?? null, processes: procs }, null, 2));
      if (st?.info) {
        const r = await provider.apiGet("/api/v1/nodes").catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status === 200) {
          const nodes = JSON.parse(r.body) as { items: Array<{ metadata: { name: string }; status: { conditions: Array<{ type: string; status: string }> } }> };
          for (const n of nodes.items) log(`node ${n.metadata.name}: Ready=${n.status.conditions.find((c) => c.type === "Ready")?.status}`);
        } else log(`API server not answering: ${r.body}`);
      }
      const left = await provider.leftovers();
      if (!st && left.length) log(`not up, but found: ${left.join("; ")}`);
      break;
    }
    case "load-image": {
      const ref = rest[0];
      if (!ref) usage();
      await provider.loadImage(ref);
      break;
    }
    case "build-image": {
      const [context, tag, ...opts] = rest;
      if (!context || !tag) usage();
      const buildArgs: Record<string, string> = {};
      let dockerfile: string | undefined;
      for (let i = 0; i < opts.length; i++) {
        if (opts[i] === "--build-arg") {
          const kv = opts[++i] ?? "";
          const eq = kv.indexOf("=");
          if (eq <= 0) usage();
          buildArgs[kv.slice(0, eq)] = kv.slice(eq + 1);
        } else if (opts[i] === "--file") dockerfile = opts[++i];
        else usage();
      }
      await provider.buildImage({ context, tag, buildArgs, ...(dockerfile ? { dockerfile } : {}) });
      break;
    }
    case "base-image":
      await step(log, "base image into the private dockerd", () => provider.ensureBaseInDocker());
      break;
    case "env": {
      const d = provider.dockerTarget();
      console.log(`export KUBECONFIG=${provider.paths.adminKubeconfig}`);
      for (const [k, v] of Object.entries(d.env)) console.log(`export ${k}=${v}`);
      break;
    }
    default:
      usage();
  }
  log(`${cmd} finished in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}

main(process.argv.slice(2)).catch((e: Error) => {
  log(`error: ${e.message}`);
  process.exit(1);
});
