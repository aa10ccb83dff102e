// Debian's Chromium through playwright-core, launched exactly as DESIGN §7
// measured it: a persistent context on a temp user-data-dir, headless, with
// the listed flags. No browser is ever downloaded.
//
//   SSEBRIDGE_CHROMIUM   the browser binary (default /usr/bin/chromium)
import { chromium } from "playwright-core";
import { makeTempDir, removeTempDir } from "./stack.mjs";

export const CHROMIUM = process.env.SSEBRIDGE_CHROMIUM || "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// One browser (its own Chromium process and profile). `extraArgs` are added
// to the recipe's flags. The returned context has .cleanup() which closes
// the browser and removes the profile; .problems collects page errors and
// dialogs of every page opened in it.
export async function launch({ extraArgs = [], viewport = { width: 1280, height: 900 }, ...options } = {}) {
  const profile = makeTempDir("ssebridge-e2e-chromium-");
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: [...CHROMIUM_ARGS, ...extraArgs],
      timeout: 30000,
      ...options,
    });
  } catch (e) {
    removeTempDir(profile);
    throw e;
  }
  context.setDefaultTimeout(15000);
  context.problems = [];
  context.dialogs = [];
  const watch = (page) => {
    page.on("pageerror", (e) => context.problems.push(`page error on ${page.url()}: ${e.message}`));
    page.on("dialog", (d) => {
      context.dialogs.push(`${d.type()}: ${d.message()} on ${page.url()}`);
      d.dismiss().catch(() => {});
    });
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  context.cleanup = async () => {
    await context.close().catch(() => {});
    removeTempDir(profile);
  };
  return context;
}

// The context's first (blank) tab, or a new one.
export async function firstPage(context) {
  return context.pages()[0] || context.newPage();
}
