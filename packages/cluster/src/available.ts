/**
 * `node packages/cluster/src/available.ts <provider> [context]`: exit 0 when that cluster provider can
 * run here, else exit 1 with the reason (names what is missing and how to get it). Starts
 * nothing. scripts/test-all.ts asks it before the e2e tier.
 */
import { defaultFactory, isProviderName, PROVIDER_ORDER } from "./select.ts";

const name = process.argv[2] ?? "";
if (!isProviderName(name)) {
  process.stderr.write(`usage: available.ts <${PROVIDER_ORDER.join("|")}>\n`);
  process.exit(2);
}
const a = await defaultFactory(name, { context: process.argv[3] }).available();
if (!a.ok) process.stdout.write(`${a.reason}\n`);
process.exit(a.ok ? 0 : 1);
