/** What fails the UI phase (src/phases/ui.ts): requests off the NodePort, console errors MLflow's healthy UI does not print. */
import { describe, expect, it } from "vitest";
import { browserArgs, findBrowser } from "../src/browser.ts";
import { pageProblems } from "../src/phases/ui.ts";

const USERS_404 = "console: Failed to load resource: the server responded with a status of 404 (Not Found) (http://127.0.0.1:30080/ajax-api/2.0/mlflow/users/current)";

describe("UI phase checks", () => {
  it("passes a page whose only console error is MLflow's users/current 404 (no basic auth)", () => {
    expect(pageProblems({ blocked: [], errors: [USERS_404] })).toEqual([]);
  });

  it("takes the same 404 under the API server's service proxy (--access proxy), and no other path prefix", () => {
    const proxied = USERS_404.replace("127.0.0.1:30080/", "127.0.0.1:40671/api/v1/namespaces/mlflow-e2e/services/mlflow:http/proxy/");
    expect(pageProblems({ blocked: [], errors: [proxied] })).toEqual([]);
    expect(pageProblems({ blocked: [], errors: [USERS_404.replace("30080/", "30080/elsewhere/")] })).toHaveLength(1);
  });

  it("fails on any request off the NodePort, naming it", () => {
    expect(pageProblems({ blocked: ["https://cdn.example.com/x.js"], errors: [] })).toEqual(["the UI asked for 1 URL(s) off the NodePort (blocked): https://cdn.example.com/x.js"]);
  });

  it("fails on a CORS error or another 404, even next to the expected one", () => {
    const cors = "console: Access to fetch at 'http://10.0.0.1/api' from origin 'http://127.0.0.1:30080' has been blocked by CORS policy";
    const other404 = USERS_404.replace("users/current", "experiments/get");
    expect(pageProblems({ blocked: [], errors: [USERS_404, cors, other404] })).toEqual([expect.stringMatching(/^2 console error\(s\): .*CORS policy.*experiments\/get/)]);
  });

  it("gives Chromium no name to resolve but the NodePort's host, and no background traffic", () => {
    const args = browserArgs("127.0.0.1");
    expect(args).toContain("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1");
    expect(args).toEqual(expect.arrayContaining(["--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"]));
  });

  it("takes MLFLOW_K8S_BROWSER over the candidates", () => {
    expect(findBrowser({ MLFLOW_K8S_BROWSER: "/opt/chrome/chrome" })).toBe("/opt/chrome/chrome");
  });
});
