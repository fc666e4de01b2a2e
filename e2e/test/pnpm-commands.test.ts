/**
 * Every `pnpm <command>` the repository tells users to run does what it says: it names one of
 * our scripts (or install/exec/store), and no script hides behind a pnpm built-in of the same
 * name (the built-in `up` of pnpm is an alias of its update command: a script called `up` never runs).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" });
const scriptsOf = (file: string) => Object.keys((JSON.parse(readFileSync(join(ROOT, file), "utf8")) as { scripts?: Record<string, string> }).scripts ?? {});

const rootScripts = scriptsOf("package.json");
const packageScripts = git("ls-files", "*/package.json").split("\n").filter(Boolean).flatMap(scriptsOf);
// The built-in commands and aliases of the pinned pnpm, from its own help ("  update   ... [aliases: up, upgrade]").
const builtins = execFileSync("pnpm", ["help", "--all"], { encoding: "utf8" })
  .split("\n")
  .flatMap((line) => {
    const m = /^ {2}([a-z][\w-]*)\s.*?(?:\[aliases?: ([^\]]+)\])?$/.exec(line);
    return m ? [m[1] as string, ...(m[2]?.split(/,\s*/) ?? [])] : [];
  });

describe("commands for pnpm in the repository", () => {
  it("the built-in list of pnpm was read (so the checks below can fail)", () => {
    expect(builtins).toEqual(expect.arrayContaining(["update", "up", "install", "exec", "test"]));
  });

  it("no root script shares a name with a built-in command or alias of pnpm (test runs the script by design)", () => {
    expect(rootScripts.filter((s) => s !== "test" && builtins.includes(s))).toEqual([]);
  });

  // An instruction, not prose: at a line start, in quotes/backticks, or after ": ", "$ ", "&& ", "| ".
  const INSTRUCTION = /(?:^\s*|[`"'(]|[:$&|] )pnpm ([a-z][\w:-]*)/gm;

  it("every `pnpm <word>` instruction in the tracked files is one of our scripts or a built-in we mean (install, exec, store)", () => {
    const known = new Set([...rootScripts, ...packageScripts, "install", "exec", "store"]);
    const files = git("ls-files", "--cached", "--others", "--exclude-standard").split("\n").filter((f) => f && !f.endsWith("pnpm-lock.yaml") && !/\.(png|svg|tgz)$/.test(f));
    const unknown = files.flatMap((f) =>
      [...readFileSync(join(ROOT, f), "utf8").matchAll(INSTRUCTION)].filter((m) => !known.has(m[1] as string)).map((m) => `${f}: "${m[0].trim()}"`),
    );
    expect(unknown).toEqual([]);
  });
});
