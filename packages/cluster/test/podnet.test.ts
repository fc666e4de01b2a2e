import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NODE_IMAGE_DIR } from "../src/kind/nodeimage.ts";
import { CONTAIN_POD_TRAFFIC_SCRIPT, POD_CIDR, UNUSED_POD_ADDRESS, podRouteLeak } from "../src/podnet.ts";

// `ip route get 10.244.0.250` in this machine's kind node (2026-11-28), without the unreachable
// route: a pod address with no /32 goes to the host's bridge, which forwards it off the machine.
const LEAKING = "10.244.0.250 via 172.17.0.1 dev eth0 src 172.17.0.2 uid 0 \n    cache \n";
// The same question with `ip route replace unreachable 10.244.0.0/16` in place (iproute2 on Debian bookworm).
const CONTAINED = "RTNETLINK answers: No route to host\n";

describe("pod traffic stays on the node", () => {
  it("flags a pod address routed through a gateway, naming the address and the route", () => {
    const why = podRouteLeak(LEAKING, "10.244.0.250");
    expect(why).toContain("10.244.0.250");
    expect(why).toContain("via 172.17.0.1 dev eth0");
  });

  it("accepts an unreachable pod address", () => {
    expect(podRouteLeak(CONTAINED)).toBeUndefined();
    expect(podRouteLeak("unreachable 10.244.255.254 table main\n")).toBeUndefined();
  });

  it("adds the unreachable route for the whole pod range, then probes an address inside it", () => {
    expect(CONTAIN_POD_TRAFFIC_SCRIPT).toContain(`ip route replace unreachable ${POD_CIDR}`);
    expect(CONTAIN_POD_TRAFFIC_SCRIPT).toContain(`ip route get ${UNUSED_POD_ADDRESS}`);
    expect(UNUSED_POD_ADDRESS.startsWith("10.244.")).toBe(true);
  });

  it("covers the subnet the node image's ptp config allocates pod addresses from", () => {
    const conf = JSON.parse(readFileSync(join(NODE_IMAGE_DIR, "files", "etc", "cni", "net.d", "10-mlflow-k8s-ptp.conflist"), "utf8"));
    const subnet: string = conf.plugins.find((p: { type: string }) => p.type === "ptp").ipam.ranges[0][0].subnet;
    expect(POD_CIDR).toBe("10.244.0.0/16");
    expect(subnet.startsWith("10.244.")).toBe(true);
    expect(Number(subnet.split("/")[1])).toBeGreaterThanOrEqual(16);
  });
});
