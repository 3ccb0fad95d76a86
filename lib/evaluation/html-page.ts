import { escapeXml } from './svg-charts';

/**
 * A self-contained HTML page (the evaluation report, the batch summary): no script, no outside resource
 * (the CSP allows only inline styles and data: images), so a page is safe to open from a presigned link.
 * `sections` are HTML already escaped by their builders; the title is escaped here.
 */
export function htmlPage(page: { title: string; style: string; bodyClass?: string; sections: string[] }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeXml(page.title)}</title>
<style>${page.style}</style>
</head>
<body${page.bodyClass ? ` class="${escapeXml(page.bodyClass)}"` : ''}>
${page.sections.filter(Boolean).join('\n')}
</body>
</html>
`;
}

/** A titled section of a page; `body` is HTML. */
export function htmlSection(title: string, body: string): string {
  return `<section><h2>${escapeXml(title)}</h2>${body}</section>`;
}
