/** The leak-check forms agree with the real Python and base64 encoders they stand for. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { base64Forms, findSecretForms, pythonQuote } from "../src/secret-forms.ts";

const SAMPLES = ["p@ss:w/rd?x#y%41%zz&'\"\\ é", "it's!(*)~_.-", "plain", "ünï©ødé 😀", "a\nb\tc"];

function python(code: string, input: string[]): string[] {
  return JSON.parse(execFileSync("python3", ["-c", code], { input: JSON.stringify(input), encoding: "utf8" })) as string[];
}

describe("secret forms", () => {
  it("pythonQuote matches Python's urllib.parse.quote(s, safe='') byte for byte", () => {
    const expected = python("import json,sys,urllib.parse as u; print(json.dumps([u.quote(s, safe='') for s in json.load(sys.stdin)]))", SAMPLES);
    expect(SAMPLES.map(pythonQuote)).toEqual(expected);
  });

  it("pythonQuote differs from encodeURIComponent where Python escapes more", () => {
    expect(pythonQuote("it's")).toBe("it%27s");
    expect(encodeURIComponent("it's")).toBe("it's");
  });

  it("finds the base64 form at every byte offset inside a longer encoded value", () => {
    const secret = "hunter2-secret";
    for (const prefix of ["", "x", "xy", "xyz", "{\"password\":\""]) {
      const blob = Buffer.from(`${prefix}${secret}trailing`).toString("base64");
      expect(base64Forms(secret).some((form) => blob.includes(form)), prefix).toBe(true);
    }
  });

  it("names each form found, and none in unrelated text", () => {
    const secret = "it's \"quoted\"";
    expect(findSecretForms(`uri=postgresql://u:${pythonQuote(secret)}@h`, secret)).toEqual(["url-encoded"]);
    expect(findSecretForms(JSON.stringify({ env: secret }), secret)).toEqual(["json-escaped"]);
    expect(findSecretForms(`data: ${Buffer.from(secret).toString("base64")}`, secret)).toEqual(["base64"]);
    expect(findSecretForms(`checksum/db-secret: ${createHash("sha256").update(secret).digest("hex")}`, secret)).toEqual(["sha256"]);
    expect(findSecretForms("nothing to see", secret)).toEqual([]);
  });
});
