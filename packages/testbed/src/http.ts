import { request } from "node:http";

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface HttpRequestOptions {
  host: string;
  port: number;
  method?: string;
  path: string;
  /** Any headers, including `host` (which fetch will not let you set). */
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
}

/** One plain HTTP/1.1 exchange with node:http. */
export function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host,
        port: options.port,
        method: options.method ?? "GET",
        path: options.path,
        headers: options.headers,
        timeout: options.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${options.method ?? "GET"} ${options.path} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Brackets an IPv6 literal for use in a URL or Host header. */
export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
