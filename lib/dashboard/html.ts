/**
 * The dashboard's HTML templating: a tagged template that escapes every
 * interpolated value unless it is already {@linkcode Html} (made by this
 * same tag or by {@linkcode raw} on a constant). Stored values (arguments,
 * results, error messages, task names) only ever reach a page through
 * `html`, so they are text, never markup.
 *
 * @module
 */

/** Markup that is safe to insert as is: built by {@linkcode html}. */
export class Html {
  /** The markup. */
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  /** The markup (so `String(page)` is the page). */
  toString(): string {
    return this.value;
  }
}

/** What a template may interpolate: nested markup, lists of it, or text. */
export type HtmlValue =
  | Html
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/**
 * Text as HTML text or attribute value: `& < > " ' \`` escaped, so it can
 * open no tag and leave no quoted attribute.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (char) => ESCAPES[char] ?? char);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/**
 * Builds markup from a template: the literal parts as written, each
 * interpolation escaped ({@linkcode Html} inserted as is, arrays joined,
 * `null`/`undefined`/`false` as nothing).
 *
 * @example
 * ```ts
 * import { html } from "./html.ts";
 *
 * const name = "<img src=x onerror=alert(1)>";
 * console.log(String(html`<td>${name}</td>`)); // "<td>&lt;img src=x onerror=alert(1)&gt;</td>"
 * ```
 */
export function html(
  strings: TemplateStringsArray,
  ...values: HtmlValue[]
): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) {
    out += render(values[i] as HtmlValue) + (strings[i + 1] ?? "");
  }
  return new Html(out);
}

/** Trusted constant markup (never call it on a stored value). */
export function raw(markup: string): Html {
  return new Html(markup);
}
