/**
 * The dashboard's static files: its stylesheet and script (constants in
 * this package) and uPlot, the chart library, read once from the installed
 * `uplot` package (a dependency) and served from the dashboard's own
 * routes: no CDN, so it works offline and under a strict
 * Content-Security-Policy.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { CLIENT_JS } from "./client.ts";
import { DASHBOARD_CSS } from "./styles.ts";

/** One static file: its body and content type. */
export interface Asset {
  body: string;
  type: string;
}

const UPLOT_MISSING_JS =
  "/* uplot is not installed: the overview shows the throughput as text */";

async function readPackageFile(file: string): Promise<string | undefined> {
  // createRequire resolves from this module's location through node_modules
  // on Node, Bun and Deno (with a node_modules folder); import.meta.resolve
  // covers Deno's npm cache.
  const candidates: Array<() => string> = [
    () => createRequire(import.meta.url).resolve(file),
    () => {
      const url = new URL(import.meta.resolve(file));
      if (url.protocol !== "file:") throw new Error(url.href);
      return url.pathname;
    },
  ];
  for (const resolve of candidates) {
    try {
      return await readFile(resolve(), "utf8");
    } catch {
      // the next way, or none
    }
  }
  return undefined;
}

let loaded: Promise<Record<string, Asset>> | undefined;

/**
 * The static files by route name, read once per process: `uplot.js`,
 * `uplot.css`, `dashboard.js`, `dashboard.css`.
 */
export function loadAssets(): Promise<Record<string, Asset>> {
  loaded ??= (async () => {
    const [uplotJs, uplotCss] = await Promise.all([
      readPackageFile("uplot/dist/uPlot.iife.min.js"),
      readPackageFile("uplot/dist/uPlot.min.css"),
    ]);
    const js = "text/javascript; charset=utf-8";
    const css = "text/css; charset=utf-8";
    return {
      "uplot.js": { body: uplotJs ?? UPLOT_MISSING_JS, type: js },
      "uplot.css": { body: uplotCss ?? "", type: css },
      "dashboard.js": { body: CLIENT_JS, type: js },
      "dashboard.css": { body: DASHBOARD_CSS, type: css },
    };
  })();
  return loaded;
}
