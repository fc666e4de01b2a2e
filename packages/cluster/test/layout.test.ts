import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COREDNS_VERSION } from "../src/layout.ts";

describe("from-source versions", () => {
  it("build-coredns.sh builds by default the CoreDNS version the kind node image is tagged with", () => {
    const script = readFileSync(new URL("../from-source/build-coredns.sh", import.meta.url), "utf8");
    expect(script).toContain(`COREDNS_VERSION="\${COREDNS_VERSION:-${COREDNS_VERSION}}"`);
  });
});
