/**
 * The forms a secret can take on its way out of a Secret: the raw text, the URL-encoded
 * form the entrypoint puts in the backend URI (Python's `urllib.parse.quote(s, safe="")`,
 * which unlike encodeURIComponent also escapes `!'()*`), base64 at any byte alignment (a
 * Secret's data, or the secret inside a longer encoded blob) and the JSON-escaped form
 * (logs and API objects), and its unsalted sha256 (a checksum annotation: anyone can test a
 * guess against it). Leak checks search for every one of them.
 */
import { createHash } from "node:crypto";

/** Python's urllib.parse.quote(text, safe=""): UTF-8 bytes, only A-Z a-z 0-9 _ . - ~ kept. */
export function pythonQuote(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The base64 characters that depend only on the secret's bytes, for each of the three
 * byte offsets it can start at inside a longer encoded value.
 */
export function base64Forms(text: string): string[] {
  const bytes = Buffer.from(text, "utf8");
  const forms = new Set<string>();
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    const form = encoded.slice(first, end);
    if (form.length >= 4) forms.add(form);
  }
  return [...forms];
}

export interface SecretForm {
  name: "raw" | "url-encoded" | "base64" | "json-escaped" | "sha256";
  text: string;
}

/** Every form to search for; never print these, print only the form's name. */
export function secretForms(secret: string): SecretForm[] {
  const forms: SecretForm[] = [
    { name: "raw", text: secret },
    { name: "url-encoded", text: pythonQuote(secret) },
    ...base64Forms(secret).map((text) => ({ name: "base64" as const, text })),
    { name: "json-escaped", text: JSON.stringify(secret).slice(1, -1) },
    { name: "sha256", text: createHash("sha256").update(secret, "utf8").digest("hex") },
  ];
  const seen = new Set<string>();
  return forms.filter((f) => f.text.length > 0 && !seen.has(f.text) && seen.add(f.text));
}

/** The names of the forms of `secret` found in `text` (empty when none is). */
export function findSecretForms(text: string, secret: string): string[] {
  return [...new Set(secretForms(secret).filter((f) => text.includes(f.text)).map((f) => f.name))];
}
