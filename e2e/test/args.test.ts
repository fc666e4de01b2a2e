import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/args.ts";

describe("e2e flags", () => {
  it("defaults to the run command with the first available provider", () => {
    expect(parseArgs([])).toMatchObject({ command: "run", keep: false, timeoutSeconds: 600, namespace: "mlflow-e2e", release: "mlflow" });
    expect(parseArgs([]).provider).toBeUndefined();
  });

  it("takes --provider, --keep, --image, --values and --timeout", () => {
    expect(parseArgs(["--provider", "minikube", "--keep", "--image", "reg/mlflow:dev", "--values", "extra.yaml", "--timeout", "90"])).toMatchObject({
      command: "run",
      provider: "minikube",
      keep: true,
      image: "reg/mlflow:dev",
      values: "extra.yaml",
      timeoutSeconds: 90,
    });
  });

  it("takes --skip as a list of phases", () => {
    expect(parseArgs(["--skip", "helm-test, db-restart"]).skip).toEqual(["helm-test", "db-restart"]);
    expect(parseArgs([]).skip).toEqual([]);
  });

  it("parses up and down", () => {
    expect(parseArgs(["up", "--provider", "kind"])).toMatchObject({ command: "up", provider: "kind" });
    expect(parseArgs(["down"])).toMatchObject({ command: "down" });
  });

  it("takes --registry, --host-address and --base-image with --provider existing", () => {
    expect(parseArgs(["--provider", "existing", "--context", "gke_p_r_c", "--registry", "europe-docker.pkg.dev/p/r/", "--host-address", "10.0.0.5", "--base-image", "mlflow-k8s/debian:bookworm"])).toMatchObject({
      registry: "europe-docker.pkg.dev/p/r",
      hostAddress: "10.0.0.5",
      baseImage: "mlflow-k8s/debian:bookworm",
    });
  });

  it("refuses --registry and --host-address with the providers that know their own", () => {
    expect(() => parseArgs(["--provider", "kind", "--registry", "localhost:5001"])).toThrow(/--registry only go with --provider existing .*got --provider kind/);
    expect(() => parseArgs(["--host-address", "10.0.0.5"])).toThrow(/--host-address only go with --provider existing .*got --provider \(auto\)/);
  });

  it("takes --context with --provider existing", () => {
    expect(parseArgs(["--provider", "existing", "--context", "kind-mlflow"])).toMatchObject({ provider: "existing", context: "kind-mlflow" });
    expect(parseArgs(["down", "--provider", "existing", "--context", "gke_p_r_c"])).toMatchObject({ command: "down", context: "gke_p_r_c" });
    expect(parseArgs([]).context).toBeUndefined();
  });

  it.each([
    [["--provider", "existing"], /--provider existing needs --context <kubeconfig context>/],
    [["--context", "kind-mlflow"], /--context is only for --provider existing .*got --provider \(auto\)/],
    [["--provider", "kind", "--context", "kind-mlflow"], /--context is only for --provider existing .*got --provider kind/],
    [["--provider", "docker-desktop"], /Allowed choices are kind, minikube, existing\./],
    [["--timeout", "0"], /--timeout takes a whole number of seconds above 0, got "0"/],
    [["--timeout", "ten"], /got "ten"/],
    [["--namespace", "Bad_NS"], /--namespace must be a lowercase DNS label/],
    [["--bogus"], /unknown option '--bogus'/],
  ])("rejects %j with a message naming the flag and what it accepts", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("where the e2e reaches MLflow and runs its services", () => {
  it("defaults run to auto for both, and up to the NodePort", () => {
    expect(parseArgs([])).toMatchObject({ access: "auto", services: "auto" });
    expect(parseArgs(["up"])).toMatchObject({ access: "nodeport" });
  });

  it("takes --access proxy and --services cluster", () => {
    expect(parseArgs(["--provider", "existing", "--context", "c", "--access", "proxy", "--services", "cluster"])).toMatchObject({ access: "proxy", services: "cluster" });
  });

  it("refuses an unknown access mode or placement, naming the choices", () => {
    expect(() => parseArgs(["--access", "port-forward"])).toThrow(/--access <how>' argument 'port-forward' is invalid\. Allowed choices are auto, nodeport, proxy/);
    expect(() => parseArgs(["--services", "gke"])).toThrow(/--services <where>' argument 'gke' is invalid\. Allowed choices are auto, host, cluster/);
  });
});
