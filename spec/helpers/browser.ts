// A real browser for specs: Debian's chromium through playwright-core, headless, with an empty profile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.FLOE_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet browser on a shared machine: no GPU, no network of its own, no sandbox (root in CI). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface OpenBrowser {
  context: BrowserContext;
  page: Page;
  /** requests the page made to hosts other than the one it was served from (must stay empty: offline) */
  foreign: string[];
  close(): Promise<void>;
}

/** One browser per spec file: open it once, close it in teardown. */
export async function openBrowser(): Promise<OpenBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'floe-chromium-'));
  // playwright passes the profile as --user-data-dir itself (it refuses the flag in args)
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const foreign: string[] = [];
  page.on('request', (request) => {
    const host = new URL(request.url()).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') foreign.push(request.url());
  });
  return {
    context,
    page,
    foreign,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
