/**
 * PostgreSQL and the GCS emulator inside the cluster under test, for clusters whose nodes
 * cannot reach the machine running the e2e (GKE): one image (e2e/images/test-services) built
 * here and pulled by the cluster, two Deployments and Services in a namespace of their own
 * that the e2e creates, labels and deletes. The phases see the same TestDatabase and
 * TestBucket as with host-run services:
 *   - pods reach them by Service DNS name (postgres.<ns>.svc.cluster.local:5432, gcs...:4443);
 *   - roles and databases are made by `kubectl exec -i psql` with the SQL on stdin, over the
 *     pod's own socket, so no password is on a command line or in a manifest;
 *   - stop()/start() scale PostgreSQL to 0 and back; its data is on a PersistentVolumeClaim
 *     (the cluster's default StorageClass), so it survives, as Cloud SQL's does;
 *   - this machine reads the bucket through the API server's service proxy.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterProvider } from "@mlflow-k8s/cluster";
import { GcsJsonApi, createUserAndDatabaseSql, fakeGcsServerBinary, type DbConnection } from "@mlflow-k8s/testbed";
import YAML from "yaml";
import { apiProxyRequest } from "./api-proxy.ts";
import type { TestBucket, TestDatabase } from "./context.ts";
import { deleteOwnNamespace, ensureNamespace, waitForExactlyReady, type Kube } from "./kube.ts";
import type { Tools } from "./tools.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const SERVICES_IMAGE_CONTEXT = `${ROOT}e2e/images/test-services`;
const PG_UID = 10002;
const PG_PORT = 5432;
const GCS_PORT = 4443;

/**
 * Builds the image in a context of its own (the Dockerfile, the entrypoint and this machine's
 * fake-gcs-server), tagged by the digest of those inputs, and makes it pullable.
 */
export async function servicesImage(provider: ClusterProvider, workDir: string): Promise<string> {
  if (!provider.buildImage) throw new Error(`provider ${provider.name} cannot build the in-cluster services image (existing: give --registry), or use --services host with an address pods reach`);
  const dir = join(workDir, "test-services");
  mkdirSync(dir, { recursive: true });
  const hash = createHash("sha256");
  for (const [from, to] of [[join(SERVICES_IMAGE_CONTEXT, "Dockerfile"), "Dockerfile"], [join(SERVICES_IMAGE_CONTEXT, "postgres-entrypoint.sh"), "postgres-entrypoint.sh"], [fakeGcsServerBinary(), "fake-gcs-server"]] as const) {
    copyFileSync(from, join(dir, to));
    hash.update(to).update(readFileSync(from));
  }
  const tag = `mlflow-k8s/e2e-services:${hash.digest("hex").slice(0, 12)}`;
  await provider.buildImage({ context: dir, tag });
  return provider.loadImage(tag);
}

/** The restricted Pod Security Standard's requirements, as every pod here meets them. */
const restricted = {
  pod: { runAsNonRoot: true, runAsUser: PG_UID, runAsGroup: PG_UID, fsGroup: PG_UID, seccompProfile: { type: "RuntimeDefault" } },
  container: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
};

function manifests(namespace: string, image: string, gcsHost: string): object[] {
  const labels = (app: string) => ({ "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "mlflow-k8s-e2e" });
  const deployment = (app: string, container: object, volumes: object[] = []) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: app, namespace, labels: labels(app) },
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: labels(app) },
      template: { metadata: { labels: labels(app) }, spec: { securityContext: restricted.pod, containers: [{ ...container, image, securityContext: restricted.container }], volumes } },
    },
  });
  const service = (app: string, port: number) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: app, namespace, labels: labels(app) },
    spec: { selector: labels(app), ports: [{ name: app, port, targetPort: port }] },
  });
  return [
    { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "postgres-data", namespace }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
    deployment(
      "postgres",
      {
        name: "postgres",
        command: ["/usr/local/bin/postgres-entrypoint"],
        env: [{ name: "PGDATA", value: "/var/lib/pgdata/data" }],
        ports: [{ containerPort: PG_PORT }],
        readinessProbe: { exec: { command: ["/usr/lib/postgresql/15/bin/pg_isready", "-h", "/tmp", "-U", "postgres"] }, periodSeconds: 2 },
        volumeMounts: [{ name: "data", mountPath: "/var/lib/pgdata" }],
        resources: { requests: { cpu: "100m", memory: "128Mi" } },
      },
      [{ name: "data", persistentVolumeClaim: { claimName: "postgres-data" } }],
    ),
    service("postgres", PG_PORT),
    deployment("gcs", {
      name: "gcs",
      command: ["/usr/local/bin/fake-gcs-server", "-scheme", "http", "-host", "0.0.0.0", "-port", String(GCS_PORT), "-backend", "memory", "-external-url", `http://${gcsHost}`, "-public-host", gcsHost, "-log-level", "warn"],
      ports: [{ containerPort: GCS_PORT }],
      readinessProbe: { httpGet: { path: "/storage/v1/b", port: GCS_PORT }, periodSeconds: 2 },
      resources: { requests: { cpu: "50m", memory: "64Mi" } },
    }),
    service("gcs", GCS_PORT),
  ];
}

export interface InClusterServices {
  db: TestDatabase;
  gcs: TestBucket;
}

export async function startInClusterServices(opts: { tools: Tools; kube: Kube; namespace: string; image: string; bucket: string; database: string; user: string; password: string; timeoutSeconds: number; log: (line: string) => void }): Promise<InClusterServices> {
  const { tools, kube, namespace } = opts;
  const svc = (name: string) => `${name}.${namespace}.svc.cluster.local`;
  const gcsHost = `${svc("gcs")}:${GCS_PORT}`;
  // Restricted, as the release's namespace: clusters that enforce it everywhere admit these pods too.
  await ensureNamespace(kube, namespace, { "pod-security.kubernetes.io/enforce": "restricted" });
  await tools.kubectl(["apply", "-f", "-"], manifests(namespace, opts.image, gcsHost).map((m) => YAML.stringify(m)).join("---\n"));
  const rollout = (app: string) => tools.kubectl(["rollout", "status", `deployment/${app}`, "-n", namespace, `--timeout=${opts.timeoutSeconds}s`]);
  await Promise.all([rollout("postgres"), rollout("gcs")]);

  const secrets = new Set<string>([opts.password]);
  const scrub = (text: string) => [...secrets].reduce((t, s) => t.split(s).join("***"), text);
  const psql = async (sql: string, database = "postgres"): Promise<string> => {
    const r = await tools.kubectl(["exec", "-i", "-n", namespace, "deployment/postgres", "-c", "postgres", "--", "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "/tmp", "-U", "postgres", "-d", database, "-f", "-"], sql).nothrow();
    if (r.exitCode !== 0) throw new Error(`psql in ${namespace}/postgres failed: ${scrub(r.stderr.trim())}`);
    return r.stdout;
  };
  const createUserAndDatabase = async (user: string, password: string, database: string): Promise<DbConnection> => {
    secrets.add(password);
    await psql(createUserAndDatabaseSql(user, password, database));
    return { host: svc("postgres"), port: PG_PORT, database, user, password };
  };
  const connection = await createUserAndDatabase(opts.user, opts.password, opts.database);

  const json = new GcsJsonApi(async (method, path, body) => apiProxyRequest(kube, { kind: "services", namespace, name: "gcs", port: GCS_PORT }, path, { method, json: body, timeoutMs: 10_000 }));
  await json.createBucket(opts.bucket);

  const scale = (replicas: number) => tools.kubectl(["scale", "deployment/postgres", "-n", namespace, `--replicas=${replicas}`]);
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    const outcome = await deleteOwnNamespace(kube, namespace).catch((e: unknown) => `not deleted (${(e as Error).message})`);
    opts.log(`  in-cluster services: namespace ${namespace} ${outcome}`);
  };
  return {
    db: {
      connection,
      async stop() {
        await scale(0);
        await waitForExactlyReady(kube, { namespace, labelSelector: "app.kubernetes.io/name=postgres", count: 0, timeoutMs: opts.timeoutSeconds * 1000 });
      },
      async start() {
        await scale(1);
        await rollout("postgres");
      },
      destroy,
      createUserAndDatabase,
      sql: psql,
    },
    gcs: {
      url: `http://${gcsHost}`,
      bucket: opts.bucket,
      listObjects: (prefix = "") => json.listObjects(opts.bucket, prefix),
      readObject: (name) => json.readObject(opts.bucket, name),
      destroy,
    },
  };
}
