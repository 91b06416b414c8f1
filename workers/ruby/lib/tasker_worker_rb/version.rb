# frozen_string_literal: true

module TaskerWorkerRb
  # The gem version; also reported by GET /health.
  VERSION = "0.1.0"
end
