/**
 * A headless Chromium-family browser, driven by playwright-core, that may reach one host and
 * nothing else (the network rule: test traffic only to what the project started). Three
 * fences: Chromium's own background traffic switched off by flags; host name resolution
 * failing for every name but the allowed host; and every request a page makes that is not
 * for the allowed host aborted and recorded, so a phase can fail on it.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

/** The binaries looked for, in order (scripts/install-system-packages.sh installs Debian's chromium when none exists). */
export const BROWSER_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** MLFLOW_K8S_BROWSER, else the first candidate present; undefined when there is none. */
export function findBrowser(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MLFLOW_K8S_BROWSER) return env.MLFLOW_K8S_BROWSER;
  return BROWSER_CANDIDATES.find((b) => existsSync(b));
}

/** Chromium's flags: headless, no sandbox (root in CI containers), none of its own network traffic, names other than `host` unresolvable. */
export function browserArgs(host: string): string[] {
  return [
    "--headless=new",
    "--no-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
    "--metrics-recording-only",
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`,
  ];
}

export interface FencedPage {
  browser: Browser;
  page: Page;
  /** URLs the page asked for on another host (aborted). */
  blocked: string[];
  /** console errors and uncaught page errors. */
  errors: string[];
}

/** Launches the browser and opens one page that may only talk to `origin`'s host. */
export async function openFencedPage(origin: string, executablePath: string): Promise<FencedPage> {
  const allowed = new URL(origin).host;
  const browser = await chromium.launch({ executablePath, args: browserArgs(new URL(origin).hostname) });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const blocked: string[] = [];
  const errors: string[] = [];
  await page.route("**/*", async (route) => {
    const url = route.request().url();
    if (new URL(url).host === allowed) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}${m.location().url ? ` (${m.location().url})` : ""}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  return { browser, page, blocked, errors };
}
