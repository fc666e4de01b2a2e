// The two PostgreSQL settings the project uses: fast (the tests' default, durability off)
// and durable (the bench's peers, as Cloud SQL runs). The bench's figures say which it ran on.
import { afterAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../src/index.ts";

const started: PostgresServer[] = [];
afterAll(async () => {
  for (const pg of started) await pg.destroy();
});

const settings = async (pg: PostgresServer) =>
  (await pg.sql("SELECT name || '=' || setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name")).trim().split("\n");

describe("startPostgres durability", () => {
  it("turns fsync, synchronous_commit and full_page_writes off by default, for fast tests", async () => {
    const pg = await startPostgres();
    started.push(pg);
    expect(await settings(pg)).toEqual(["fsync=off", "full_page_writes=off", "synchronous_commit=off"]);
  });

  it("leaves them on with durable: true, as production runs PostgreSQL", async () => {
    const pg = await startPostgres({ durable: true });
    started.push(pg);
    expect(await settings(pg)).toEqual(["fsync=on", "full_page_writes=on", "synchronous_commit=on"]);
  });
});
