import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CHART_DIR, renderChartFiles } from "../src/chart-files.ts";
import { chartJsonSchema } from "../src/chart-files.ts";

const committed = (name: string) => readFileSync(new URL(name, CHART_DIR), "utf8");

describe("chart files generated from the values model", () => {
  const rendered = renderChartFiles(committed("README.md"));

  it.each(Object.keys(rendered))("committed charts/mlflow/%s equals what the model renders (run `pnpm sync-chart` if not)", (name) => {
    expect(committed(name)).toBe(rendered[name]);
  });

  it("rejects unknown keys at every object level of the schema", () => {
    const objectsWithoutStrictness: string[] = [];
    const visit = (node: Record<string, unknown>, path: string) => {
      const props = node.properties as Record<string, Record<string, unknown>> | undefined;
      if (props) {
        if (node.additionalProperties !== false) objectsWithoutStrictness.push(path || "(root)");
        for (const [k, v] of Object.entries(props)) visit(v, path ? `${path}.${k}` : k);
      }
    };
    visit(chartJsonSchema() as Record<string, unknown>, "");
    expect(objectsWithoutStrictness).toEqual([]);
  });

  it("gives every value a description (the values.yaml comment)", () => {
    const undocumented: string[] = [];
    const visit = (node: Record<string, unknown>, path: string) => {
      for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        const p = path ? `${path}.${k}` : k;
        if (!v.description) undocumented.push(p);
        visit(v, p);
      }
    };
    visit(chartJsonSchema() as Record<string, unknown>, "");
    expect(undocumented).toEqual([]);
  });

  it("uses only regular expressions Go's RE2 can compile (Helm evaluates the schema in Go)", () => {
    const patterns = JSON.stringify(chartJsonSchema()).match(/"pattern":"(?:[^"\\]|\\.)*"/g) ?? [];
    expect(patterns.length).toBeGreaterThan(3);
    for (const p of patterns) expect(p, p).not.toMatch(/\(\?[=!<]/);
  });
});
