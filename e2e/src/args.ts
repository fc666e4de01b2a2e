/** Command-line flags of `pnpm e2e`, `./dev up` / `pnpm dev:up` and `./dev down` / `pnpm dev:down`. */
import { Command, InvalidArgumentError, Option } from "commander";
import { PROVIDER_ORDER, type ProviderName } from "@mlflow-k8s/cluster";

export interface E2eOptions {
  command: "run" | "up" | "down";
  /** Undefined: the first available of kind, minikube (never existing). */
  provider?: ProviderName;
  /** kubeconfig context: required with provider existing, refused with the others. */
  context?: string;
  /** With provider existing: where built images are pushed (the cluster pulls them from there). */
  registry?: string;
  /** With provider existing: an address of this machine that the cluster's pods reach (host-run PostgreSQL, GCS emulator). */
  hostAddress?: string;
  /** With provider existing: BASE_IMAGE for the image builds (where debian:bookworm-slim cannot be pulled). */
  baseImage?: string;
  /**
   * How this machine reaches MLflow: the NodePort, the API server's service proxy (`kubectl
   * proxy`), or auto (the NodePort when it answers, else the proxy). `up` always uses the NodePort.
   */
  access: "auto" | "nodeport" | "proxy";
  /**
   * Where PostgreSQL and the GCS emulator run: on this machine (where pods reach it), in the
   * cluster (in a namespace of their own), or auto (this machine when the provider names an
   * address pods reach, else the cluster).
   */
  services: "auto" | "host" | "cluster";
  /** Leave the cluster running after `run` (a second run reuses it). */
  keep: boolean;
  /** Use this already-built image instead of building images/mlflow. */
  image?: string;
  /** Extra values file layered over the generated values. */
  values?: string;
  /** Overall budget for waits (install, rollout, pod replacement), seconds. */
  timeoutSeconds: number;
  namespace: string;
  release: string;
  /** Where failure diagnostics are written. */
  artifactsDir: string;
  /** JSON report of the phases (counted by scripts/test-all.ts). */
  report?: string;
  /** Phases to leave out (reported as not run, never as passed). */
  skip: string[];
}

const positiveInt = (flag: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${flag} takes a whole number of seconds above 0, got "${value}"`);
  return Number(value);
};

const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (flag: string) => (value: string) => {
  if (!K8S_NAME.test(value) || value.length > 53) throw new InvalidArgumentError(`${flag} must be a lowercase DNS label of at most 53 characters, got "${value}"`);
  return value;
};

export function parseArgs(argv: string[]): E2eOptions {
  let parsed: E2eOptions | undefined;
  const program = new Command("e2e")
    .description("Bring up a cluster, install charts/mlflow and prove MLflow works through the NodePort.")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const common = (cmd: Command) =>
    cmd
      .addOption(new Option("--provider <name>", "cluster provider (default: the first available of kind, minikube; existing only when named)").choices(PROVIDER_ORDER).env("MLFLOW_K8S_PROVIDER"))
      .option("--context <name>", "kubeconfig context of the cluster, with --provider existing (required there: the ambient current-context is never used)")
      .option("--registry <host[/path]>", "with --provider existing: build images with the ambient Docker engine and push them here; the cluster must pull from it under that name")
      .option("--host-address <ip>", "with --provider existing: an address of this machine that the cluster's pods reach; PostgreSQL and the GCS emulator listen there")
      .addOption(new Option("--base-image <ref>", "with --provider existing: BASE_IMAGE of the image builds (a Debian bookworm image the engine has, where debian:bookworm-slim cannot be pulled)").env("MLFLOW_K8S_BASE_IMAGE"))
      .option("--namespace <ns>", "namespace for the release", dnsLabel("--namespace"), "mlflow-e2e")
      .option("--release <name>", "Helm release name", dnsLabel("--release"), "mlflow")
      .option("--timeout <seconds>", "budget for each wait (install, rollout, pod replacement)", positiveInt("--timeout"), 600)
      .option("--artifacts <dir>", "where failure diagnostics go", "artifacts/e2e");

  const done = (command: E2eOptions["command"]) => (opts: Record<string, unknown>) => {
    if (opts.provider === "existing" && !opts.context) {
      throw new Error("--provider existing needs --context <kubeconfig context>: the e2e installs into and deletes namespaces of that cluster, so it never follows the current-context");
    }
    if (opts.context && opts.provider !== "existing") {
      throw new Error(`--context is only for --provider existing (the other providers make their own cluster and kubeconfig), got --provider ${String(opts.provider ?? "(auto)")}`);
    }
    const onlyExisting = (["registry", "hostAddress"] as const).filter((k) => opts[k] && opts.provider !== "existing");
    if (onlyExisting.length) {
      throw new Error(`${onlyExisting.map((k) => (k === "registry" ? "--registry" : "--host-address")).join(" and ")} only go with --provider existing (the other providers know their registry and host address), got --provider ${String(opts.provider ?? "(auto)")}`);
    }
    parsed = {
      command,
      ...(opts.provider ? { provider: opts.provider as ProviderName } : {}),
      ...(opts.context ? { context: String(opts.context) } : {}),
      ...(opts.registry ? { registry: String(opts.registry).replace(/\/+$/, "") } : {}),
      ...(opts.hostAddress ? { hostAddress: String(opts.hostAddress) } : {}),
      ...(opts.baseImage ? { baseImage: String(opts.baseImage) } : {}),
      access: (opts.access as E2eOptions["access"] | undefined) ?? (command === "up" ? "nodeport" : "auto"),
      services: (opts.services as E2eOptions["services"] | undefined) ?? "auto",
      keep: Boolean(opts.keep),
      ...(opts.image ? { image: String(opts.image) } : {}),
      ...(opts.values ? { values: String(opts.values) } : {}),
      timeoutSeconds: opts.timeout as number,
      namespace: opts.namespace as string,
      release: opts.release as string,
      artifactsDir: opts.artifacts as string,
      ...(opts.report ? { report: String(opts.report) } : {}),
      skip: (opts.skip as string[] | undefined) ?? [],
    };
  };

  common(program.command("run", { isDefault: true }).description("the whole e2e: up, install, verify, upgrade, faults, down"))
    .option("--keep", "leave the cluster running afterwards (the release and the host services are removed)", false)
    .option("--image <ref>", "use this image (already built) instead of building images/mlflow")
    .option("--values <file>", "extra values file layered over the generated ones")
    .option("--report <file>", "write a JSON report of the phases")
    .addOption(new Option("--access <how>", "how this machine reaches MLflow: the NodePort, the API server's service proxy (kubectl proxy on loopback), or auto (the NodePort when it answers)").choices(["auto", "nodeport", "proxy"]).default("auto"))
    .addOption(new Option("--services <where>", "where PostgreSQL and the GCS emulator run: on this machine, in the cluster (needs images the cluster can pull: kind, or --registry), or auto (this machine when pods can reach it)").choices(["auto", "host", "cluster"]).default("auto"))
    .option("--skip <phases>", "comma-separated phases to leave out (reported as not run)", (v: string) => v.split(",").map((x) => x.trim()).filter(Boolean))
    .action(done("run"));
  common(program.command("up").description("phases 1-7 with development defaults; leaves MLflow running and prints its URL"))
    .option("--image <ref>", "use this image (already built) instead of building images/mlflow")
    .option("--values <file>", "extra values file layered over the generated ones")
    .action(done("up"));
  common(program.command("down").description("remove everything `up` made")).action(done("down"));

  program.parse(argv, { from: "user" });
  if (!parsed) throw new Error("no command parsed");
  return parsed;
}
