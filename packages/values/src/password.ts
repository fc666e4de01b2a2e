/** Reads the DB password from the source the user chose. The value is never logged. */
import password from "@inquirer/password";
import { ValuesError } from "./errors.ts";
import type { PasswordSource } from "./generator.ts";

export async function readPassword(source: PasswordSource, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  switch (source.kind) {
    case "prompt":
      return password({ message: "PostgreSQL password for MLflow", mask: "*" });
    case "stdin": {
      let text = "";
      for await (const chunk of stdin) text += chunk.toString();
      // One trailing newline is what `echo` and editors add; it is not part of the password.
      return text.replace(/\r?\n$/, "");
    }
    case "env": {
      const value = process.env[source.variable];
      if (value === undefined) {
        throw new ValuesError([{ field: "passwordFrom", hint: `--password-from env:${source.variable}`, message: `names environment variable ${source.variable}, which is not set` }]);
      }
      return value;
    }
    case "secret":
      throw new Error("the password of an existing Secret is never read: the chart references the Secret directly");
  }
}
