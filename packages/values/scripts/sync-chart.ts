/**
 * Writes the chart files derived from the values model (values.schema.json,
 * values.yaml, the README values table). With --check, writes nothing and exits 1
 * listing the files that differ, so CI catches hand edits and forgotten syncs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { CHART_DIR, renderChartFiles } from "../src/chart-files.ts";

const check = process.argv.includes("--check");
const readme = readFileSync(new URL("README.md", CHART_DIR), "utf8");
const drifted: string[] = [];
for (const [name, content] of Object.entries(renderChartFiles(readme))) {
  const url = new URL(name, CHART_DIR);
  let current = "";
  try {
    current = readFileSync(url, "utf8");
  } catch {
    // missing file counts as drift
  }
  if (current === content) continue;
  drifted.push(name);
  if (!check) writeFileSync(url, content);
}
if (check && drifted.length) {
  console.error(`charts/mlflow is out of date with packages/values: ${drifted.join(", ")}. Run \`pnpm sync-chart\`.`);
  process.exit(1);
}
console.log(drifted.length ? `${check ? "drifted" : "wrote"}: ${drifted.join(", ")}` : "chart files are in sync");
