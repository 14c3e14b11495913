import fs from 'node:fs';
import { createRequire } from 'node:module';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

/** The real-browser tests' browser, and what they check on a page, whatever server stands behind it. */

/** Debian's chromium, which .ci/run installs (no browser is downloaded). */
export const CHROMIUM = '/usr/bin/chromium';

/** A headless chromium on `profile` at 1280 × 900, and its first page. */
export async function launchChromium(
  profile: string,
): Promise<{ context: BrowserContext; page: Page }> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash .ci/run does).`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return { context, page: context.pages()[0] ?? (await context.newPage()) };
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * Elements that stick out of the viewport and are not inside a scroll container, and scroll
 * containers other than code blocks that need to scroll sideways: content a phone user cannot
 * see without panning. As "tag.class: px".
 */
export function clipped(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const out = [];
    const width = document.documentElement.clientWidth;
    const scrolls = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll') return true;
      }
      return false;
    };
    const name = (el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '');
    for (const el of document.querySelectorAll('main *')) {
      // Only code scrolls sideways: any other scroll box that needs to is clipped content too.
      const o = getComputedStyle(el).overflowX;
      if ((o === 'auto' || o === 'scroll') && el.tagName !== 'PRE' && el.scrollWidth > el.clientWidth + 1)
        out.push('scrolls ' + name(el) + ': ' + (el.scrollWidth - el.clientWidth));
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 1 || scrolls(el)) continue;
      out.push(name(el) + ': ' + Math.round(r.right - width));
    }
    return out;
  })()`);
}

/** How far the page scrolls sideways: 0 or less when it fits the window. */
export function overflowX(page: Page): Promise<number> {
  return page.evaluate<number>(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth',
  );
}

/**
 * WCAG 2 A and AA problems axe-core finds on the page as it is now (labels, contrast, names,
 * landmarks), as "rule: element" lines; none is expected.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the console's CSP rightly refuses an inline script.
  await page.evaluate(fs.readFileSync(AXE, 'utf8'));
  const violations = await page.evaluate<{ id: string; nodes: { target: string[] }[] }[]>(
    `axe.run(document, { runOnly: ['wcag2a', 'wcag2aa'] }).then((r) => r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
  );
  return violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}
