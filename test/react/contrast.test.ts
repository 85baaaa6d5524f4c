import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { webSocketStatusColors, webSocketStatusStyles } from "../../src/react/styles.js";

/** WCAG 2 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`not a #rrggbb colour: ${hex}`);
  const [r, g, b] = match.slice(1).map((pair) => {
    const channel = Number.parseInt(pair, 16) / 255;
    return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two colours, 1..21. */
function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** White (a card) and the light grey of the demo page and of many app backgrounds. */
const BACKGROUNDS = ["#ffffff", "#f6f8fa"];
/** WCAG AA for normal text. */
const AA_TEXT = 4.5;

/** The custom properties of the theming example (the ```css block under "### Theming"). */
function docsThemeColours(): Record<string, string> {
  const markdown = readFileSync(new URL("../../docs/react.md", import.meta.url), "utf8");
  const section = markdown.slice(markdown.indexOf("### Theming"));
  const block = /```css\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("docs/react.md: no ```css block under ### Theming");
  return Object.fromEntries([...block.matchAll(/(--ws-status-[a-z]+):\s*(#[0-9a-f]{6})\b/gi)].map((m) => [m[1]!, m[2]!.toLowerCase()]));
}

describe("colour contrast (WCAG AA, 4.5:1)", () => {
  it("computes the ratio as WCAG does", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrast("#777777", "#ffffff")).toBeCloseTo(4.48, 2);
    // The colours the old theming example used: 3.2:1 and 3.0:1, failing.
    expect(contrast("#2da44e", "#ffffff")).toBeLessThan(AA_TEXT);
    expect(contrast("#8c959f", "#ffffff")).toBeLessThan(AA_TEXT);
  });

  it.each(Object.entries(webSocketStatusColors))("the shipped %s (%s) on white and on #f6f8fa", (_name, colour) => {
    for (const background of BACKGROUNDS) expect(contrast(colour, background)).toBeGreaterThanOrEqual(AA_TEXT);
  });

  it("the stylesheet declares exactly those colours", () => {
    for (const [name, colour] of Object.entries(webSocketStatusColors)) expect(webSocketStatusStyles).toContain(`${name}: ${colour};`);
    const declared = [...webSocketStatusStyles.matchAll(/#[0-9a-f]{3,8}\b/gi)].map((m) => m[0]);
    expect(declared.sort()).toEqual(Object.values(webSocketStatusColors).sort());
  });

  it("the theming example in docs/react.md shows the shipped colours, each passing", () => {
    const documented = docsThemeColours();
    expect(documented).toEqual(webSocketStatusColors);
    for (const colour of Object.values(documented)) {
      for (const background of BACKGROUNDS) expect(contrast(colour, background)).toBeGreaterThanOrEqual(AA_TEXT);
    }
  });
});
