/**
 * The cluster's default StorageClass provisions a volume: a PVC with no class named binds
 * once a pod uses it, the pod (the server image, so nothing else is pulled) writes a file and
 * reads it back, and deleting the namespace releases the volume (reclaimPolicy Delete). On kind
 * that is kindest/node's local-path-provisioner; on the node image built here, ours (packages/
 * cluster/kind/node-image/manifests/default-storage.yaml), so this phase is what proves the two
 * images alike. The chart itself needs no volume; users' add-ons on the same cluster do.
 */
import { strict as assert } from "node:assert";
import { StorageV1Api, type V1Pod } from "@kubernetes/client-node";
import { waitFor } from "@mlflow-k8s/cluster";
import { need, type Ctx } from "../context.ts";
import { deleteOwnNamespace, ensureNamespace, runPodToCompletion } from "../kube.ts";

const CLAIM = "e2e-volume";
const MARK = "written to a provisioned volume";

function writerPod(image: string): V1Pod {
  return {
    metadata: { name: "volume-writer", labels: { "app.kubernetes.io/managed-by": "mlflow-k8s-e2e" } },
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "writer",
          image,
          imagePullPolicy: "IfNotPresent",
          command: ["sh", "-c", `echo '${MARK}' > /data/f && cat /data/f`],
          volumeMounts: [{ name: "data", mountPath: "/data" }],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        },
      ],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: CLAIM } }],
    },
  };
}

export async function storage(ctx: Ctx): Promise<void> {
  const kube = need(ctx, "kube", "cluster");
  const image = need(ctx, "image", "image");
  const ns = `${ctx.opts.namespace}-storage`;
  const timeoutMs = ctx.opts.timeoutSeconds * 1000;
  const classes = (await kube.kc.makeApiClient(StorageV1Api).listStorageClass()).items;
  const dflt = classes.find((c) => c.metadata?.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true");
  assert.ok(dflt, `the cluster has no default StorageClass (it has: ${classes.map((c) => c.metadata?.name).join(", ") || "none"}); kind's node images ship one`);
  ctx.log(`  default StorageClass ${dflt.metadata?.name} (${dflt.provisioner})`);
  await ensureNamespace(kube, ns);
  let pvName: string | undefined;
  try {
    await kube.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: CLAIM }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } } },
    });
    const started = performance.now();
    const { pod, logs } = await runPodToCompletion(kube, ns, writerPod(image), timeoutMs);
    assert.equal(pod.status?.phase, "Succeeded", `the pod using the claim ended ${pod.status?.phase}: ${logs.slice(-1000)}`);
    assert.equal(logs.trim(), MARK, `the pod read back ${JSON.stringify(logs.trim())} from the volume, not what it wrote`);
    const pvc = await kube.core.readNamespacedPersistentVolumeClaim({ name: CLAIM, namespace: ns });
    pvName = pvc.spec?.volumeName;
    assert.equal(pvc.status?.phase, "Bound", `claim ${CLAIM} is ${pvc.status?.phase}`);
    assert.equal(pvc.spec?.storageClassName, dflt.metadata?.name, `claim ${CLAIM} got class ${pvc.spec?.storageClassName}, not the default`);
    ctx.log(`  claim bound to ${pvName}; the pod wrote and read back the volume, ${((performance.now() - started) / 1000).toFixed(1)} s after it was created`);
  } finally {
    await deleteOwnNamespace(kube, ns);
  }
  if (pvName) {
    const name = pvName;
    await waitFor(`volume ${name} released (reclaimPolicy Delete)`, timeoutMs, async () => kube.core.readPersistentVolume({ name }).then(() => undefined, () => true), 1000);
    ctx.log(`  namespace deleted; volume ${name} released`);
  }
}
