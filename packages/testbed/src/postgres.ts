import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pgBinDir } from "./paths.ts";
import { freePort, startProcess, waitFor, type ManagedProcess } from "./process.ts";

const execFileAsync = promisify(execFile);

export interface PostgresOptions {
  /** Address to listen on; default 127.0.0.1 (the e2e passes a bridge address pods reach). */
  host?: string;
  /** Default: a free port picked on `host`. */
  port?: number;
  /** Directory with initdb/postgres/psql; default $PG_BIN_DIR or the newest /usr/lib/postgresql/<N>/bin. */
  binDir?: string;
  /** The application database, user and password created after initdb. */
  database?: string;
  user?: string;
  /** Default: 24 random hex characters. */
  password?: string;
  /** Parent for the cluster's files; default a new dir under the OS temp dir. */
  baseDir?: string;
  /** How long to wait for the server to accept connections; default 60 s. */
  readyTimeoutMs?: number;
  /**
   * Durable as production runs it (fsync, synchronous_commit and full_page_writes on, as
   * Cloud SQL does). Default false: tests trade durability for speed with all three off.
   */
  durable?: boolean;
}

/** What the entrypoint (and the chart) reads: DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD. */
export interface DbConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode?: string;
}

export function dbEnv(db: DbConnection): Record<string, string> {
  const env: Record<string, string> = {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_NAME: db.database,
    DB_USER: db.user,
    DB_PASSWORD: db.password,
  };
  if (db.sslmode) env["DB_SSLMODE"] = db.sslmode;
  return env;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The SQL that makes a login role with a password and a database it owns (names and password quoted). Send it on stdin, never argv. */
export function createUserAndDatabaseSql(user: string, password: string, database: string): string {
  return `CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(password)};\nCREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(user)};\n`;
}

/** postgres refuses to run as root: when we are root, run it as the postgres (or nobody) user. */
async function serviceUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync("/etc/passwd", "utf8").split("\n");
  for (const name of ["postgres", "nobody"]) {
    const line = passwd.find((l) => l.startsWith(`${name}:`));
    const [, , uid, gid] = line?.split(":") ?? [];
    if (uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error("running as root and found neither a postgres nor a nobody user to run postgres as");
}

/**
 * A private PostgreSQL cluster: initdb into a temp dir (scram-sha-256 password auth for
 * every connection), started on its own port, with an application user + database.
 * stop()/start() reuse the same data dir (for outage tests); destroy() removes it.
 */
export class PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly binDir: string;
  readonly baseDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  private readonly superPassword: string;
  private readonly runAs: { uid: number; gid: number } | undefined;
  private readonly readyTimeoutMs: number;
  readonly durable: boolean;
  private proc: ManagedProcess | undefined;

  private constructor(init: {
    host: string; port: number; binDir: string; baseDir: string; database: string; user: string;
    password: string; superPassword: string; runAs: { uid: number; gid: number } | undefined; readyTimeoutMs: number; durable: boolean;
  }) {
    this.host = init.host;
    this.port = init.port;
    this.binDir = init.binDir;
    this.baseDir = init.baseDir;
    this.dataDir = join(init.baseDir, "data");
    this.logFile = join(init.baseDir, "postgres.log");
    this.database = init.database;
    this.user = init.user;
    this.password = init.password;
    this.superPassword = init.superPassword;
    this.runAs = init.runAs;
    this.readyTimeoutMs = init.readyTimeoutMs;
    this.durable = init.durable;
  }

  static async create(options: PostgresOptions = {}): Promise<PostgresServer> {
    const host = options.host ?? "127.0.0.1";
    const runAs = await serviceUser();
    const baseDir = mkdtempSync(join(options.baseDir ?? tmpdir(), "mlflow-k8s-pg-"));
    mkdirSync(join(baseDir, "sock"));
    if (runAs) {
      chownSync(baseDir, runAs.uid, runAs.gid);
      chownSync(join(baseDir, "sock"), runAs.uid, runAs.gid);
    }
    const server = new PostgresServer({
      host,
      port: options.port ?? (await freePort(host)),
      binDir: options.binDir ?? pgBinDir(),
      baseDir,
      database: options.database ?? "mlflow",
      user: options.user ?? "mlflow",
      password: options.password ?? randomBytes(12).toString("hex"),
      superPassword: randomBytes(16).toString("hex"),
      runAs,
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
      durable: options.durable ?? false,
    });
    await server.initdb();
    await server.start();
    await server.createUserAndDatabase(server.user, server.password, server.database);
    return server;
  }

  /** Connection details of the application user (for DB_* env). */
  get connection(): DbConnection {
    return { host: this.host, port: this.port, database: this.database, user: this.user, password: this.password };
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private async initdb(): Promise<void> {
    const pwfile = join(this.baseDir, "pwfile");
    writeFileSync(pwfile, `${this.superPassword}\n`, { mode: 0o600 });
    if (this.runAs) chownSync(pwfile, this.runAs.uid, this.runAs.gid);
    try {
      await execFileAsync(join(this.binDir, "initdb"), [
        "-D", this.dataDir, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwfile}`,
        "-E", "UTF8", "--no-locale", "--no-instructions", "--no-sync",
      ], { env: { PATH: "/usr/bin:/bin", LANG: "C" }, ...(this.runAs ?? {}) });
    } catch (e) {
      throw new Error(`initdb failed: ${(e as { stderr?: string }).stderr ?? String(e)}`, { cause: e });
    } finally {
      rmSync(pwfile, { force: true });
    }
    // Password auth from any address it listens on (the e2e binds a bridge address).
    appendFileSync(join(this.dataDir, "pg_hba.conf"), "\nhost all all all scram-sha-256\n");
  }

  /** Starts postgres on the existing data dir (again, after stop()) and waits until it answers. */
  async start(): Promise<void> {
    if (this.running) return;
    const proc = startProcess("postgres", join(this.binDir, "postgres"), [
      "-D", this.dataDir,
      "-c", `listen_addresses=${this.host}`,
      "-c", `port=${this.port}`,
      "-c", `unix_socket_directories=${join(this.baseDir, "sock")}`,
      ...(this.durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      "-c", "max_connections=100",
    ], { env: { PATH: "/usr/bin:/bin", LANG: "C" }, logFile: this.logFile, ...(this.runAs ?? {}) });
    this.proc = proc;
    await waitFor(async () => this.isReady(), {
      timeoutMs: this.readyTimeoutMs,
      what: `postgres on ${this.host}:${this.port}`,
      abortIf: () => (proc.running ? undefined : `postgres exited: ${proc.logTail(15)}`),
    });
  }

  /** pg_isready against the TCP address. */
  async isReady(): Promise<boolean> {
    try {
      await execFileAsync(join(this.binDir, "pg_isready"), ["-q", "-h", this.host, "-p", String(this.port), "-t", "2"], { env: { PATH: "/usr/bin:/bin" } });
      return true;
    } catch {
      return false;
    }
  }

  /** Fast shutdown (SIGINT to the process group), keeping the data dir. */
  async stop(): Promise<void> {
    if (!this.proc) return;
    await this.proc.stop({ signal: "SIGINT", graceMs: 20_000 });
    this.proc = undefined;
  }

  /** Stops the server and removes every file of the cluster. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.baseDir, { recursive: true, force: true });
  }

  /** Runs SQL as the superuser over TCP (password in env, SQL on stdin); returns psql's output. */
  async sql(sql: string, database = "postgres"): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        join(this.binDir, "psql"),
        ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", this.host, "-p", String(this.port), "-U", "postgres", "-d", database, "-f", "-"],
        { env: { PATH: "/usr/bin:/bin", PGPASSWORD: this.superPassword, PGCONNECT_TIMEOUT: "5" } },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`psql failed: ${this.scrub(stderr || error.message)}`));
          else resolve(stdout);
        },
      );
      child.stdin?.end(sql);
    });
  }

  /** Creates a login role with a password and a database it owns. */
  async createUserAndDatabase(user: string, password: string, database: string): Promise<DbConnection> {
    this.secrets.add(password);
    await this.sql(createUserAndDatabaseSql(user, password, database));
    return { host: this.host, port: this.port, database, user, password };
  }

  private readonly secrets = new Set<string>();

  private scrub(text: string): string {
    let out = text;
    for (const s of [...this.secrets, this.superPassword]) if (s) out = out.split(s).join("***");
    return out;
  }
}

export function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  return PostgresServer.create(options);
}
