/**
 * The part of the GCS JSON API the tests use (create a bucket, list and read objects), over
 * any transport: plain HTTP to a host-run emulator, or the Kubernetes API server's service
 * proxy to one running in a cluster. One parser for both, so both read the bucket alike.
 */

/** One object as the emulator's JSON API lists it. */
export interface GcsObject {
  bucket: string;
  name: string;
  size: number;
  contentType?: string;
  md5Hash?: string;
  /** gs://bucket/name */
  uri: string;
}

/** One HTTP exchange with the emulator: method, path (with query), optional JSON body. */
export type GcsTransport = (method: string, path: string, json?: unknown) => Promise<{ status: number; text: string; body: Buffer }>;

export class GcsJsonApi {
  private readonly send: GcsTransport;

  constructor(send: GcsTransport) {
    this.send = send;
  }

  /** GET /storage/v1/b answers 200: the emulator is serving. */
  async ready(): Promise<boolean> {
    return (await this.send("GET", "/storage/v1/b")).status === 200;
  }

  /** POST /storage/v1/b: creates a bucket (an existing one is fine). */
  async createBucket(name: string): Promise<void> {
    const res = await this.send("POST", "/storage/v1/b?project=mlflow-k8s-test", { name });
    if (res.status !== 200 && res.status !== 409) {
      throw new Error(`creating bucket ${name} in the emulator: HTTP ${res.status} ${res.text}`);
    }
  }

  /** Every object under `prefix` (GET /storage/v1/b/<bucket>/o, all pages). */
  async listObjects(bucket: string, prefix = ""): Promise<GcsObject[]> {
    const out: GcsObject[] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ prefix });
      if (pageToken) q.set("pageToken", pageToken);
      const res = await this.send("GET", `/storage/v1/b/${encodeURIComponent(bucket)}/o?${q.toString()}`);
      if (res.status !== 200) throw new Error(`listing gs://${bucket}/${prefix}: HTTP ${res.status} ${res.text}`);
      const page = JSON.parse(res.text) as { items?: { name: string; size?: string | number; contentType?: string; md5Hash?: string }[]; nextPageToken?: string };
      for (const item of page.items ?? []) {
        out.push({
          bucket,
          name: item.name,
          size: Number(item.size ?? 0),
          ...(item.contentType ? { contentType: item.contentType } : {}),
          ...(item.md5Hash ? { md5Hash: item.md5Hash } : {}),
          uri: `gs://${bucket}/${item.name}`,
        });
      }
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return out;
  }

  /** An object's bytes (GET ...?alt=media). */
  async readObject(bucket: string, name: string): Promise<Buffer> {
    const res = await this.send("GET", `/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`);
    if (res.status !== 200) throw new Error(`reading gs://${bucket}/${name}: HTTP ${res.status} ${res.text}`);
    return res.body;
  }
}
