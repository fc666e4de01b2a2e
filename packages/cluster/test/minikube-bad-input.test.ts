/**
 * The minikube provider's bad-input errors, each one line with the fix, and the user's other
 * profiles never touched. Error paths only, so minikube and docker are fakes (shell scripts
 * named as such) that log every call; the port check uses a real listening socket.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MINIKUBE_VERSION } from "../src/layout.ts";
import { MinikubeProvider } from "../src/providers/minikube.ts";
import type { DockerEngine } from "../src/kind/engine.ts";

const PROFILE = "mlflow-k8s-unit";

/** A fake minikube: `version` prints $FAKE_MINIKUBE_VERSION, `status` answers $FAKE_MINIKUBE_HOST; every call is logged with its MINIKUBE_HOME. */
const FAKE_MINIKUBE = `#!/bin/sh
echo "MINIKUBE_HOME=$MINIKUBE_HOME minikube $*" >> "$FAKE_LOG"
case "$1" in
  version) echo "$FAKE_MINIKUBE_VERSION" ;;
  status) if [ -z "$FAKE_MINIKUBE_HOST" ]; then echo "Profile \\"$3\\" not found."; exit 85; fi; echo "$FAKE_MINIKUBE_HOST"; exit 7 ;;
  delete) exit 0 ;;
  *) exit 0 ;;
esac
`;
/** A fake docker: `container inspect` finds a container only when $FAKE_FOREIGN_CONTAINER is set. */
const FAKE_DOCKER = `#!/bin/sh
echo "docker $*" >> "$FAKE_LOG"
if [ "$1" = container ] && [ "$2" = inspect ]; then [ -n "$FAKE_FOREIGN_CONTAINER" ] && { echo "/$PROFILE"; exit 0; }; exit 1; fi
exit 0
`;

let dir: string;
let saved: NodeJS.ProcessEnv;
let server: Server | undefined;

function fakeEngine(): DockerEngine {
  const target = { bin: join(dir, "fake-docker"), env: {} };
  return { ensure: async () => target, current: async () => target, ours: () => false, debianBase: async () => "mlflow-k8s/debian:bookworm", unavailableReason: async () => undefined } as unknown as DockerEngine;
}

function provider(nodePorts: number[] = [freePortPlaceholder]): MinikubeProvider {
  return new MinikubeProvider({ clusterName: PROFILE, stateDir: join(dir, "state"), nodePorts, engine: fakeEngine(), log: () => {} });
}
const freePortPlaceholder = 1; // never reached in the tests that do not start

const calls = () => (existsSync(process.env.FAKE_LOG!) ? readFileSync(process.env.FAKE_LOG!, "utf8").trim().split("\n") : []);

async function takenPort(): Promise<number> {
  server = createServer();
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

async function upError(p: MinikubeProvider): Promise<string> {
  const e = await p.up().then(() => undefined, (err: Error) => err);
  expect(e, "up() should have failed").toBeInstanceOf(Error);
  return (e as Error).message;
}

beforeEach(() => {
  saved = { ...process.env };
  dir = mkdtempSync(join(tmpdir(), "minikube-bad-input-"));
  const bin = join(dir, "cache", "minikube", MINIKUBE_VERSION, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "minikube"), FAKE_MINIKUBE);
  chmodSync(join(bin, "minikube"), 0o755);
  writeFileSync(join(dir, "fake-docker"), FAKE_DOCKER);
  chmodSync(join(dir, "fake-docker"), 0o755);
  Object.assign(process.env, { MLFLOW_K8S_CACHE: join(dir, "cache"), FAKE_LOG: join(dir, "calls.log"), FAKE_MINIKUBE_VERSION: MINIKUBE_VERSION, FAKE_MINIKUBE_HOST: "", FAKE_FOREIGN_CONTAINER: "", PROFILE });
});

afterEach(async () => {
  process.env = saved;
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
});

describe("minikube provider: bad input", () => {
  it("minikube missing: one line naming the build script", async () => {
    Object.assign(process.env, { MLFLOW_K8S_CACHE: join(dir, "empty-cache"), PATH: join(dir, "no-such-bin") });
    const m = await upError(provider());
    expect(m).toMatch(/^minikube is not installed: run packages\/cluster\/from-source\/build-minikube.sh/);
    expect(m).not.toContain("\n");
  });

  it("minikube at another version: one line naming both versions and the fix", async () => {
    process.env.FAKE_MINIKUBE_VERSION = "v1.37.0";
    const m = await upError(provider());
    expect(m).toContain(`minikube v1.37.0`);
    expect(m).toContain(`is not the version this project pins (${MINIKUBE_VERSION}): run packages/cluster/from-source/build-minikube.sh`);
    expect(m).not.toContain("\n");
  });

  it("a stale profile in our MINIKUBE_HOME we did not start: an error naming minikube delete, nothing deleted", async () => {
    process.env.FAKE_MINIKUBE_HOST = "Stopped";
    const m = await upError(provider());
    expect(m).toContain(`minikube profile ${PROFILE} exists`);
    expect(m).toContain(`MINIKUBE_HOME=${join(dir, "state", "home")} minikube delete -p ${PROFILE}`);
    expect(m).not.toContain("\n");
    expect(calls().filter((c) => / delete|docker rm/.test(c))).toEqual([]);
  });

  it("a stale profile left by our crashed run: deleted (ours only, in our MINIKUBE_HOME) and started again", async () => {
    process.env.FAKE_MINIKUBE_HOST = "Stopped";
    mkdirSync(join(dir, "state"), { recursive: true });
    writeFileSync(join(dir, "state", `${PROFILE}.created`), "2026-11-28T00:00:00Z\n");
    const port = await takenPort(); // so the restart stops at the port check, before minikube start
    const m = await upError(provider([port]));
    expect(m).toMatch(/already in use/);
    const minikubeCalls = calls().filter((c) => c.includes(" minikube "));
    expect(minikubeCalls).toContain(`MINIKUBE_HOME=${join(dir, "state", "home")} minikube delete -p ${PROFILE}`);
    // Every minikube call names our profile and runs in our MINIKUBE_HOME: other profiles, ~/.minikube untouched.
    for (const c of minikubeCalls.filter((c) => !c.endsWith("version --short"))) {
      expect(c).toMatch(new RegExp(`^MINIKUBE_HOME=${join(dir, "state", "home")} minikube .*-p ${PROFILE}( |$)`));
    }
  });

  it("a container named like the profile that is no profile of ours: an error, never deleted", async () => {
    process.env.FAKE_FOREIGN_CONTAINER = "1";
    const m = await upError(provider());
    expect(m).toContain(`a container named ${PROFILE} exists but is no minikube profile of this project`);
    expect(m).toContain("MLFLOW_K8S_MINIKUBE_PROFILE");
    expect(m).not.toContain("\n");
    expect(calls().filter((c) => / delete|docker rm/.test(c))).toEqual([]);
  });

  it("the NodePort already taken on 127.0.0.1: one line naming the port and MLFLOW_K8S_NODE_PORT, before minikube start", async () => {
    const port = await takenPort();
    const m = await upError(provider([port]));
    expect(m).toContain(`127.0.0.1:${port} is already in use by another program`);
    expect(m).toContain("set MLFLOW_K8S_NODE_PORT");
    expect(m).not.toContain("\n");
    expect(calls().some((c) => c.includes("minikube start"))).toBe(false);
  });
});
