/**
 * MLflow's web UI as users open it: the NodePort URL in a real headless browser (Debian's
 * chromium, driven by playwright-core). The experiment list shows the experiment the REST
 * phase wrote, its runs page shows the run; no console errors (CORS, a blocked host) and no
 * request to any host but the NodePort's (browser.ts aborts and records those). A screenshot
 * of the runs page goes to the artifacts directory on success and on failure.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { findBrowser, openFencedPage, type FencedPage } from "../browser.ts";
import { need, type Ctx } from "../context.ts";

/**
 * Console errors MLflow's own UI prints on a healthy server, each matched exactly: the UI asks
 * for the logged-in user, an endpoint only the basic-auth app serves (404 without it). The base
 * URL is the NodePort's root, or (--access proxy) the API server's service proxy path.
 */
export const EXPECTED_CONSOLE_ERRORS = [/^console: Failed to load resource: the server responded with a status of 404 \(Not Found\) \(https?:\/\/[^/]+(?:\/api\/v1\/namespaces\/[^/]+\/services\/[^/]+\/proxy)?\/ajax-api\/2\.0\/mlflow\/users\/current\)$/];

/** Generous bounds for a page on two shared cores, not timing assertions. */
const WAIT_MS = 90_000;

/** The problems a finished page visit shows: requests off the NodePort, unexpected console errors. */
export function pageProblems(f: Pick<FencedPage, "blocked" | "errors">): string[] {
  const problems: string[] = [];
  if (f.blocked.length) problems.push(`the UI asked for ${f.blocked.length} URL(s) off the NodePort (blocked): ${f.blocked.slice(0, 5).join(", ")}`);
  const unexpected = f.errors.filter((e) => !EXPECTED_CONSOLE_ERRORS.some((re) => re.test(e)));
  if (unexpected.length) problems.push(`${unexpected.length} console error(s): ${unexpected.slice(0, 5).join(" | ")}`);
  return problems;
}

export async function uiCheck(ctx: Ctx): Promise<void> {
  const url = need(ctx, "url", "discover");
  const w = need(ctx, "written", "rest");
  const bin = findBrowser();
  if (!bin) throw new Error("no Chromium-family browser (/usr/bin/chromium, google-chrome): run scripts/install-system-packages.sh (apt-get install chromium), or set MLFLOW_K8S_BROWSER to one");
  const dir = resolve(ctx.opts.artifactsDir);
  mkdirSync(dir, { recursive: true });
  const f = await openFencedPage(url, bin).catch((e: unknown) => {
    throw new Error(`cannot launch ${bin} headless: ${(e as Error).message.split("\n").slice(0, 6).join("\n")}`);
  });
  ctx.log(`  ${bin} ${f.browser.version()} (headless), requests fenced to ${new URL(url).host}`);
  try {
    await f.page.goto(`${url}/`, { timeout: WAIT_MS });
    await f.page.getByText(w.experimentName, { exact: true }).first().waitFor({ timeout: WAIT_MS });
    ctx.log(`  ${url}/ lists experiment ${w.experimentName}`);
    await f.page.goto(`${url}/#/experiments/${w.experimentId}/runs`, { timeout: WAIT_MS });
    await f.page.getByText(w.runName, { exact: true }).first().waitFor({ timeout: WAIT_MS });
    const shot = join(dir, "ui-runs.png");
    await f.page.screenshot({ path: shot });
    ctx.log(`  its runs page shows run ${w.runName}; screenshot ${shot}`);
    const problems = pageProblems(f);
    if (problems.length) throw new Error(problems.join("; "));
    ctx.log(`  no request off the NodePort, no console errors (${f.errors.length} expected: MLflow's users/current 404 without basic auth)`);
  } catch (error) {
    const shot = join(dir, "ui-failure.png");
    await f.page.screenshot({ path: shot }).catch(() => {});
    const seen = pageProblems(f);
    throw new Error(`${(error as Error).message.split("\n")[0]} (screenshot ${shot}${seen.length ? `; also: ${seen.join("; ")}` : ""})`, { cause: error });
  } finally {
    await f.browser.close();
  }
}
