# frozen_string_literal: true

module TaskerWorkerRb
  # Hides passwords in connection strings so they can be logged; the same
  # rules as the Rust `tasker_shared::config::redact_url`.
  module Redact
    PASSWORD_KEY = "password="
    # ASCII-only case-insensitive match (like the Rust version).
    PASSWORD_PATTERN = /[pP][aA][sS][sS][wW][oO][rR][dD]=/
    PARAM_BOUNDARY = ["?", "&", " ", "\t", "\n"].freeze
    VALUE_END = /[& \t\n#]/

    module_function

    # Handles the URL form (`scheme://user:password@host/...`, including
    # `@` and `/` inside the password), `password=` query parameters and the
    # libpq key/value form (`host=... password=...`).
    def url(url)
      out = +""
      rest = url.to_s
      scheme_end = rest.index("://")
      if scheme_end
        out << rest[0, scheme_end + 3]
        rest = redact_userinfo(rest[(scheme_end + 3)..], out)
      end
      out << password_params(rest)
    end

    # Appends the userinfo of `after` (the URL after `://`) to `out` with
    # its password hidden; returns the rest of the URL.
    def redact_userinfo(after, out)
      query_start = after.index("?") || after.length
      at = after[0, query_start].rindex("@")
      return after unless at

      userinfo = after[0, at]
      colon = userinfo.index(":")
      out << (colon ? "#{userinfo[0, colon]}:***" : userinfo)
      after[at..]
    end

    # Replaces the value of every `password=` parameter (query string or
    # key/value form) with `***`.
    def password_params(text)
      out = +""
      rest = text
      while (pos = rest.index(PASSWORD_PATTERN))
        value_start = pos + PASSWORD_KEY.length
        out << rest[0, value_start]
        boundary = pos.zero? || PARAM_BOUNDARY.include?(rest[pos - 1])
        rest = rest[value_start..]
        next unless boundary

        value_end = value_length(rest)
        out << "***" if value_end.positive?
        rest = rest[value_end..]
      end
      out << rest
    end

    # Length of the parameter value at the start of `rest` (libpq quoting:
    # 'value with spaces').
    def value_length(rest)
      if rest.start_with?("'")
        close = rest.index("'", 1)
        close ? close + 1 : rest.length
      else
        rest.index(VALUE_END) || rest.length
      end
    end
  end
end
