/** The all-or-nothing writer on its own, with one rename failed on purpose by a fake. */
import { mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ValuesError } from "../src/errors.ts";
import { writeAllOrNothing, type FileOps } from "../src/write-files.ts";

/** A fake rename that fails the nth call (1-based) and otherwise renames for real. */
function fakeRenameFailingCall(n: number): FileOps {
  let calls = 0;
  return {
    rename: (from, to) => {
      calls += 1;
      if (calls === n) throw Object.assign(new Error("fake rename failure"), { code: "EIO", path: from, dest: to });
      renameSync(from, to);
    },
  };
}

describe("writeAllOrNothing", () => {
  it("restores both files that --force replaced when the second rename fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "write-files-"));
    const [a, b] = [join(dir, "secret.yaml"), join(dir, "values.yaml")];
    writeFileSync(a, "old secret");
    writeFileSync(b, "old values");
    const files = [
      { path: a, content: "new secret", field: "secretOut" },
      { path: b, content: "new values", field: "out" },
    ];
    expect(() => writeAllOrNothing(files, { force: true, ops: fakeRenameFailingCall(2) })).toThrow(ValuesError);
    expect(readFileSync(a, "utf8")).toBe("old secret");
    expect(readFileSync(b, "utf8")).toBe("old values");
    expect(readdirSync(dir).sort()).toEqual(["secret.yaml", "values.yaml"]);
  });

  it("removes the first file when it was new and the second rename fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "write-files-"));
    const files = [
      { path: join(dir, "secret.yaml"), content: "s" },
      { path: join(dir, "values.yaml"), content: "v" },
    ];
    expect(() => writeAllOrNothing(files, { ops: fakeRenameFailingCall(2) })).toThrow(/cannot be written \(EIO\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("replaces both with --force and leaves no temporary or backup files", () => {
    const dir = mkdtempSync(join(tmpdir(), "write-files-"));
    writeFileSync(join(dir, "values.yaml"), "old");
    writeAllOrNothing([{ path: join(dir, "values.yaml"), content: "new" }], { force: true });
    expect(readFileSync(join(dir, "values.yaml"), "utf8")).toBe("new");
    expect(readdirSync(dir)).toEqual(["values.yaml"]);
  });
});
