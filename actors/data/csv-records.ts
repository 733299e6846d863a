/**
 * RFC 4180 records, each with the line it starts on (so a problem is reported where an editor shows it).
 * Apart from the store's files because the simulator reads CUSTOMERS_LIST_FILE with it too.
 */

/** RFC 4180 records with the line each starts on. A fast path when the text has no quotes. */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: { line: number; fields: string[] }[] = [];
  if (!text.includes('"')) {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let l = lines[i];
      if (l.endsWith('\r')) l = l.slice(0, -1);
      if (l === '' && i === lines.length - 1) break;
      out.push({ line: i + 1, fields: l.split(',') });
    }
    return out;
  }
  let line = 1,
    start = 1,
    i = 0,
    cur = '',
    fields: string[] = [],
    quoted = false,
    any = false;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cur += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (ch === '\n') line++;
      cur += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      quoted = true;
      any = true;
      i++;
      continue;
    }
    if (ch === ',') {
      fields.push(cur);
      cur = '';
      any = true;
      i++;
      continue;
    }
    if (ch === '\r' && text[i + 1] === '\n') {
      i++;
      continue;
    }
    if (ch === '\n') {
      fields.push(cur);
      out.push({ line: start, fields });
      fields = [];
      cur = '';
      any = false;
      line++;
      start = line;
      i++;
      continue;
    }
    cur += ch;
    any = true;
    i++;
  }
  if (any || cur !== '' || fields.length) {
    fields.push(cur);
    out.push({ line: start, fields });
  }
  return out;
}
