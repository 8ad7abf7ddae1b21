// Markdown and LaTeX in answers: marked for the Markdown, KaTeX for $...$,
// $$...$$, \(...\) and \[...\] as MathML (Chromium, Firefox and Safari draw
// it with no fonts or stylesheet to ship), DOMPurify on the result, since a
// model's text may hold HTML.
import DOMPurify from 'dompurify';
import katex from 'katex';
import { marked } from 'marked';

const MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^$\n]+?)\$/g;

export function renderMarkdown(text) {
  // Math first, kept out of Markdown's way behind placeholders.
  const formulas = [];
  const withoutMath = text.replace(MATH, (match, display, bracket, paren, inline) => {
    const tex = display ?? bracket ?? paren ?? inline;
    const block = display !== undefined || bracket !== undefined;
    formulas.push(katex.renderToString(tex, { displayMode: block, output: 'mathml', throwOnError: false }));
    return `\u0000${formulas.length - 1}\u0000`;
  });
  const html = marked.parse(withoutMath, { async: false, gfm: true, breaks: true })
    .replace(/\u0000(\d+)\u0000/g, (m, i) => formulas[Number(i)]);
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true, mathMl: true } });
}

// How much of a text still being written is finished Markdown, to render
// apart from the rest: up to its last blank line that a new paragraph follows
// (not an indented line, which may continue a list item), unless a code fence
// or a display formula is open there.
export function settledLength(text) {
  const cut = text.lastIndexOf('\n\n') + 2;
  if (cut < 2 || cut >= text.length || /\s/.test(text[cut])) return 0;
  const before = text.slice(0, cut);
  const count = (re) => before.match(re)?.length ?? 0;
  const open = count(/^ {0,3}(```|~~~)/gm) % 2 || count(/\$\$/g) % 2 ||
    count(/\\\[/g) !== count(/\\\]/g) || count(/\\\(/g) !== count(/\\\)/g);
  return open ? 0 : cut;
}
