/**
 * Hides passwords in a connection string so it can be logged (a port of
 * `tasker_shared::config::redact_url`, same cases).
 *
 * Handles the URL form (`scheme://user:password@host/...`, including `@`
 * and `/` inside the password), `password=` query parameters and the libpq
 * key/value form (`host=... password=...`).
 */
export function redactUrl(url: string): string {
  let out = "";
  let rest = url;
  const schemeEnd = url.indexOf("://");
  if (schemeEnd >= 0) {
    out += url.slice(0, schemeEnd + 3);
    const after = url.slice(schemeEnd + 3);
    // The userinfo ends at the last '@' before the query string.
    const queryStart = after.includes("?") ? after.indexOf("?") : after.length;
    const at = after.slice(0, queryStart).lastIndexOf("@");
    if (at >= 0) {
      const userinfo = after.slice(0, at);
      const colon = userinfo.indexOf(":");
      out += colon >= 0 ? `${userinfo.slice(0, colon)}:***` : userinfo;
      rest = after.slice(at);
    } else {
      rest = after;
    }
  }
  return out + redactPasswordParams(rest);
}

const KEY = "password=";
const BOUNDARY = new Set(["?", "&", " ", "\t", "\n"]);
const VALUE_END = /[& \t\n#]/;

/** Lower-cases ASCII letters only, so indices stay aligned with the original. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Replaces the value of every `password=` parameter (query string or key/value form) with `***`. */
function redactPasswordParams(s: string): string {
  let out = "";
  let rest = s;
  for (;;) {
    const pos = asciiLower(rest).indexOf(KEY);
    if (pos < 0) {
      break;
    }
    const boundaryOk = pos === 0 || BOUNDARY.has(rest.charAt(pos - 1));
    const valueStart = pos + KEY.length;
    out += rest.slice(0, valueStart);
    rest = rest.slice(valueStart);
    if (!boundaryOk) {
      continue;
    }
    let valueEnd: number;
    if (rest.startsWith("'")) {
      // libpq quoting: 'value with spaces'
      const close = rest.indexOf("'", 1);
      valueEnd = close >= 0 ? close + 1 : rest.length;
    } else {
      const m = VALUE_END.exec(rest);
      valueEnd = m === null ? rest.length : m.index;
    }
    if (valueEnd > 0) {
      out += "***";
    }
    rest = rest.slice(valueEnd);
  }
  return out + rest;
}
