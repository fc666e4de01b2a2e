/** The NodePort reachability check of the discover phase, on real loopback sockets. */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { assertReachable } from "../src/kube.ts";

describe("assertReachable", () => {
  it("resolves when something listens", async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    await expect(assertReachable("127.0.0.1", port)).resolves.toBeUndefined();
    server.close();
  });

  it("names the address and what to do when nothing answers", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    await expect(assertReachable("127.0.0.1", port)).rejects.toThrow(new RegExp(`the NodePort 127\\.0\\.0\\.1:${port} is not reachable from this machine \\(connect ECONNREFUSED.*open the NodePort range`));
  });
});
